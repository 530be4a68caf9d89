# Which wheel of a pylock.toml package goes into the image, in plain `builtins` (no nixpkgs).
# This file owns reading wheel file names (their compatibility tags) and choosing, for the lock's
# target (`[tool.cognix.target]`: a CPython minor version and a manylinux platform), the wheel
# pip would install there: the one whose best tag comes first in `packaging.tags.sys_tags()`
# order for that interpreter, a higher build tag breaking a tie.
let
  inherit (builtins)
    concatMap
    concatStringsSep
    elemAt
    filter
    foldl'
    fromJSON
    genList
    head
    isString
    length
    listToAttrs
    match
    replaceStrings
    split
    stringLength
    substring
    toString
    ;

  # `s` split at every match of the regular expression `sep`.
  splitOn = sep: s: filter isString (split sep s);

  # The last element of a non-empty list.
  last = list: elemAt list (length list - 1);

  # The 26 letters of the string `s`, as a list.
  letters = s: genList (i: substring i 1 s) 26;

  upper = letters "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  lower = letters "abcdefghijklmnopqrstuvwxyz";

  # The string given, with ASCII letters lower-cased.
  toLower = replaceStrings upper lower;

  # A decimal number without leading zeros, as a Nix integer.
  toInt =
    digits:
    let
      found = match "0*([0-9]+)" digits;
    in
    fromJSON (head found);

  # The indexes of a list's elements, as an attribute set from element to index.
  indexes =
    list:
    listToAttrs (
      genList (i: {
        name = elemAt list i;
        value = i;
      }) (length list)
    );

  # `%XX` escapes of printable ASCII characters decoded; others are left as they are.
  percentDecode =
    s:
    let
      decode =
        hex:
        let
          h = toLower hex;
        in
        if h >= "20" && h < "7f" then fromJSON ''"\u00${h}"'' else "%${hex}";
    in
    concatStringsSep "" (
      map (piece: if isString piece then piece else decode (head piece)) (
        split "%([0-9A-Fa-f]{2})" s
      )
    );

  /**
    The file name of a pylock.toml wheel entry: its `name`, else the last segment of its `url`
    (without query or fragment), percent-decoded.

    # Inputs

    `wheel`
    : one element of a package's `wheels`
  */
  wheelFilename =
    wheel: wheel.name or (percentDecode (last (splitOn "/" (head (splitOn "[?#]" wheel.url)))));

  /**
    The parts of a wheel file name
    (`{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`).
    Throws when the name is not one.

    # Inputs

    `wheel`
    : a wheel file name, like "charset_normalizer-3.5.3-py3-none-any.whl", or a pylock.toml
      wheel entry, whose file name `wheelFilename` gives

    # Output

    `{ filename; distribution; version; build; pythonTags; abiTags; platformTags; tags; }`:
    `build` is null or the build tag; the `*Tags` lists are the `.`-separated tag sets,
    lower-cased; `tags` is every combination, `[ { python; abi; platform; } ... ]`.
  */
  wheelTags =
    wheel:
    let
      filename = if isString wheel then wheel else wheelFilename wheel;
      stem = match "(.*)[.]whl" filename;
      parts = splitOn "-" (head stem);
      n = length parts;
      part = i: elemAt parts (n - i);
      tagSet = text: splitOn "[.]" (toLower text);
      pythonTags = tagSet (part 3);
      abiTags = tagSet (part 2);
      platformTags = tagSet (part 1);
      build = if n == 6 then elemAt parts 2 else null;
    in
    if stem == null || (n != 5 && n != 6) || (build != null && match "[0-9].*" build == null) then
      throw "cognix: ${filename} is not a wheel file name"
    else
      {
        inherit filename;
        distribution = elemAt parts 0;
        version = elemAt parts 1;
        inherit
          build
          pythonTags
          abiTags
          platformTags
          ;
        tags = concatMap (
          python:
          concatMap (
            abi:
            map (platform: {
              inherit python abi platform;
            }) platformTags
          ) abiTags
        ) pythonTags;
      };

  /**
    The target's place for each tag: the index a tag has in `packaging.tags` order for CPython
    `3.minor` on manylinux with glibc 2.`glibc` (`cpython_tags` then `compatible_tags`, without
    `linux_<arch>`), or null for a tag that does not fit.

    # Inputs

    `python`
    : the target's Python version, "3.11"

    `platform`
    : the target's platform, "<arch>-manylinux_2_<glibc minor>" like "x86_64-manylinux_2_28"
  */
  tagRanker =
    {
      python,
      platform,
      ...
    }:
    let
      pythonParts = match "3[.]([0-9]+)" python;
      platformParts = match "([^-]+)-manylinux_2_([0-9]+)" platform;
      minor = toInt (head pythonParts);
      arch = elemAt platformParts 0;
      glibc = toInt (elemAt platformParts 1);

      # packaging's `_manylinux.platform_tags`: newest glibc first, each legacy alias just after
      # its glibc version; x86_64 and i686 go down to glibc 2.5, the others to 2.17.
      oldest = if arch == "x86_64" || arch == "i686" then 5 else 17;
      legacy = {
        "17" = "manylinux2014";
        "12" = "manylinux2010";
        "5" = "manylinux1";
      };
      platformsOf =
        m:
        [ "manylinux_2_${toString m}_${arch}" ]
        ++ (if legacy ? ${toString m} then [ "${legacy.${toString m}}_${arch}" ] else [ ]);
      platforms = concatMap platformsOf (
        genList (i: glibc - i) (if glibc < oldest then 0 else glibc - oldest + 1)
      );
      platformIndex = indexes platforms;
      platformCount = length platforms;

      interpreter = "cp3${toString minor}";
      # `_py_interpreter_range`: py3<minor>, py3, then py3<minor - 1> down to py30.
      pyVersions = [
        "py3${toString minor}"
        "py3"
      ]
      ++ genList (i: "py3${toString (minor - 1 - i)}") minor;
      pyIndex = indexes pyVersions;

      olderAbi3Start = 3 * platformCount;
      pyPlatformStart = olderAbi3Start + (minor - 2) * platformCount;
      anyStart = pyPlatformStart + length pyVersions * platformCount;

      rank =
        tag:
        let
          p = platformIndex.${tag.platform} or null;
          cpython = match "cp3([0-9]+)" tag.python;
          cpMinor = toInt (head cpython);
        in
        if tag.platform == "any" then
          if tag.abi != "none" then
            null
          else if tag.python == interpreter then
            anyStart
          else if pyIndex ? ${tag.python} then
            anyStart + 1 + pyIndex.${tag.python}
          else
            null
        else if p == null then
          null
        else if tag.python == interpreter && tag.abi == interpreter then
          p
        else if tag.python == interpreter && tag.abi == "abi3" then
          platformCount + p
        else if tag.python == interpreter && tag.abi == "none" then
          2 * platformCount + p
        else if tag.abi == "abi3" && cpython != null && cpMinor >= 2 && cpMinor < minor then
          olderAbi3Start + (minor - 1 - cpMinor) * platformCount + p
        else if tag.abi == "none" && pyIndex ? ${tag.python} then
          pyPlatformStart + pyIndex.${tag.python} * platformCount + p
        else
          null;
    in
    if pythonParts == null then
      throw "cognix: target Python \"${python}\" is not a CPython 3 minor version like \"3.11\""
    else if platformParts == null then
      throw "cognix: target platform \"${platform}\" is not like \"x86_64-manylinux_2_28\""
    else
      rank;

  # Whether build tag `a` beats build tag `b` (null is no build tag, beaten by any): by the
  # number it starts with, then by the rest, as pip compares `(int, str)`.
  buildBeats =
    a: b:
    let
      key =
        tag:
        let
          found = match "0*([0-9]+)(.*)" tag;
        in
        {
          number = head found;
          rest = elemAt found 1;
        };
      ka = key a;
      kb = key b;
      la = stringLength ka.number;
      lb = stringLength kb.number;
    in
    if a == null then
      false
    else if b == null then
      true
    else if la != lb then
      la > lb
    else if ka.number != kb.number then
      ka.number > kb.number
    else
      ka.rest > kb.rest;

  /**
    The wheel of `package` that pip would install for the target. Throws, naming the package and
    its wheels, when none fits.

    # Inputs

    `python`
    : the target's Python version, `[tool.cognix.target] python`, like "3.11"

    `platform`
    : the target's platform, `[tool.cognix.target] platform`, like "x86_64-manylinux_2_28"

    `package`
    : one `[[packages]]` entry of pylock.toml (`name`, `version`, `wheels`)

    # Output

    The chosen element of `package.wheels`, unchanged.
  */
  selectWheel =
    {
      python,
      platform,
      ...
    }@target:
    let
      rank = tagRanker target;
      minimum = foldl' (best: r: if r != null && (best == null || r < best) then r else best) null;
    in
    package:
    let
      wheels = package.wheels or [ ];
      scored = map (
        wheel:
        let
          parsed = wheelTags wheel;
        in
        {
          inherit wheel;
          inherit (parsed) filename build;
          rank = minimum (map rank parsed.tags);
        }
      ) wheels;
      beats = a: b: a.rank < b.rank || (a.rank == b.rank && buildBeats a.build b.build);
      pick =
        best: candidate:
        if candidate.rank != null && (best == null || beats candidate best) then
          candidate
        else
          best;
      best = foldl' pick null scored;
      filenames =
        if wheels == [ ] then "none" else concatStringsSep ", " (map (s: s.filename) scored);
    in
    if best == null then
      throw (
        "cognix: ${package.name} ${package.version or "(no version)"}: no wheel in pylock.toml "
        + "fits CPython ${python} on ${platform} (wheels: ${filenames})"
      )
    else
      best.wheel;
in
{
  inherit selectWheel wheelTags wheelFilename;
}

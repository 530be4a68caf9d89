# Docker's `.dockerignore` rules in plain `builtins` (no nixpkgs), so that the image's `/src` holds
# what Cog's `COPY . /src` would send to BuildKit. This file owns reading `.dockerignore` text,
# translating each pattern to a POSIX extended regular expression for `builtins.match`, and
# deciding whether a path is ignored.
#
# It mirrors, line for line where it can:
# - moby/patternmatcher 5a6d8429a19bb6948a372ff19e86fe83599a04b7: `ignorefile/ignorefile.go`
#   (`ReadAll`) and `patternmatcher.go` (`New`, `compile`, `match`, `MatchesOrParentMatches`,
#   `MatchesUsingParentResults`);
# - tonistiigi/fsutil 6d9dc2ebad626eb645fb587f14225b3aa96ec010: `filter.go` (the walk that
#   BuildKit uses to send the build context, and when it skips an excluded directory).
#
# Known differences from Docker:
# - `?` and `[^...]` match one byte here and one UTF-8 character in Docker, so they differ on
#   names with non-ASCII characters.
# - These patterns are rejected with an error here, where Docker accepts them: a backslash
#   before a letter or digit that Go's regexp takes as an escape (`\d` is any digit there, `\b`
#   a word boundary), `*` or `?` inside `[...]` (Docker's translation turns them into a
#   different bracket expression), a non-ASCII character inside `[...]`, and a negated named
#   class such as `[[:^alpha:]]`.
let
  inherit (builtins)
    all
    any
    attrNames
    concatStringsSep
    elem
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
    split
    stringLength
    substring
    tail
    ;

  # The bytes of `s`, each as a one-character string.
  chars = s: genList (i: substring i 1 s) (stringLength s);

  # Whether `s` starts with `prefix`.
  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;

  # Whether `s` ends with `suffix`.
  hasSuffix =
    suffix: s:
    let
      n = stringLength s;
      k = stringLength suffix;
    in
    k <= n && substring (n - k) k s == suffix;

  # `s` without its first `k` bytes.
  dropFirst = k: s: substring k (stringLength s) s;

  # `s` without its last `k` bytes.
  dropLast = k: s: substring 0 (stringLength s - k) s;

  # `s` split at every match of the regular expression `sep`.
  splitOn = sep: s: filter isString (split sep s);

  # The character with Unicode code point `hex` (four hex digits), spelled through JSON
  # because Nix string literals have no escape for it.
  unicode = hex: fromJSON ''"\u${hex}"'';

  hexDigits = chars "0123456789abcdef";

  # The ASCII characters 1 to 127 (a Nix string cannot hold NUL), and their codes.
  ascii = genList (
    i:
    let
      code = i + 1;
    in
    unicode "00${elemAt hexDigits (code / 16)}${elemAt hexDigits (code - code / 16 * 16)}"
  ) 127;

  codeOf = listToAttrs (
    genList (i: {
      name = elemAt ascii i;
      value = i + 1;
    }) 127
  );

  # The characters with codes `from` to `to`, both included.
  codes = from: to: genList (i: elemAt ascii (from + i - 1)) (to - from + 1);

  # A one-byte string that every non-ASCII byte sorts at or after (the second byte of U+0080).
  firstHighByte = substring 1 1 (unicode "0080");

  # Whether the byte `c` is ASCII.
  isAscii = c: c < firstHighByte;

  # Whether the byte `c` is an ASCII letter or digit.
  isAlnum = c: match "[0-9A-Za-z]" c != null;

  # What Go's `unicode.IsSpace` accepts, as `strings.TrimSpace` trims it.
  goSpaces = [
    " "
    "\t"
    "\n"
    "\r"
  ]
  ++ map unicode [
    "000b"
    "000c"
    "0085"
    "00a0"
    "1680"
    "2000"
    "2001"
    "2002"
    "2003"
    "2004"
    "2005"
    "2006"
    "2007"
    "2008"
    "2009"
    "200a"
    "2028"
    "2029"
    "202f"
    "205f"
    "3000"
  ];

  trimStart =
    s:
    let
      found = filter (space: hasPrefix space s) goSpaces;
    in
    if found == [ ] then s else trimStart (dropFirst (stringLength (head found)) s);

  trimEnd =
    s:
    let
      found = filter (space: hasSuffix space s) goSpaces;
    in
    if found == [ ] then s else trimEnd (dropLast (stringLength (head found)) s);

  # Go's `strings.TrimSpace`.
  trimSpace = s: trimEnd (trimStart s);

  # Go's `filepath.Clean` for slash-separated paths: no `.` or empty elements, `..` resolved
  # lexically, no trailing slash, `.` for an empty result.
  clean =
    path:
    let
      rooted = hasPrefix "/" path;
      elements = filter (e: e != "" && e != ".") (splitOn "/" path);
      # The kept elements, last first.
      push =
        kept: e:
        if e != ".." then
          [ e ] ++ kept
        else if kept != [ ] && head kept != ".." then
          tail kept
        else if rooted then
          kept
        else
          [ e ] ++ kept;
      reversed = foldl' push [ ] elements;
      n = length reversed;
      body = concatStringsSep "/" (genList (i: elemAt reversed (n - 1 - i)) n);
    in
    if rooted then
      "/" + body
    else if body == "" then
      "."
    else
      body;

  # Go's `filepath.Dir`.
  dirOf =
    path:
    let
      found = match "(.*)/[^/]*" path;
    in
    if found == null then "." else clean (head found + "/");

  # The directories above `path`, outermost first, as `MatchesOrParentMatches` builds them:
  # "a/b/c" gives [ "a" "a/b" ].
  parentsOf =
    path:
    let
      dir = dirOf path;
      parts = splitOn "/" dir;
    in
    if dir == "." then
      [ ]
    else
      genList (i: concatStringsSep "/" (genList (j: elemAt parts j) (i + 1))) (length parts);

  # Characters that are special in an extended regular expression, and how to write each one
  # literally (libstdc++, which Nix uses, rejects `\]` and `\}`).
  literal = {
    "." = "[.]";
    "*" = "[*]";
    "[" = "[[]";
    "]" = "[]]";
    "{" = "[{]";
    "}" = "[}]";
    "(" = "[(]";
    ")" = "[)]";
    "+" = "[+]";
    "?" = "[?]";
    "|" = "[|]";
    "$" = "[$]";
    "\\" = "[\\]";
    "^" = "\\^";
  };

  # The byte `c`, written literally.
  quoteChar = c: literal.${c} or c;

  # An extended regular expression matching exactly the string `s`.
  quote = s: concatStringsSep "" (map quoteChar (chars s));

  # Go's POSIX classes, which are ASCII only (regexp/syntax/perl_groups.go).
  namedClasses = {
    alnum = codes 48 57 ++ codes 65 90 ++ codes 97 122;
    alpha = codes 65 90 ++ codes 97 122;
    ascii = codes 1 127;
    blank = [
      "\t"
      " "
    ];
    cntrl = codes 1 31 ++ codes 127 127;
    digit = codes 48 57;
    graph = codes 33 126;
    lower = codes 97 122;
    print = codes 32 126;
    punct = codes 33 47 ++ codes 58 64 ++ codes 91 96 ++ codes 123 126;
    space = codes 9 13 ++ [ " " ];
    upper = codes 65 90;
    word = codes 48 57 ++ codes 65 90 ++ codes 97 122 ++ [ "_" ];
    xdigit = codes 48 57 ++ codes 65 70 ++ codes 97 102;
  };

  /**
    A bracket expression for a set of ASCII characters, laid out so that none of `]`, `^`, `[`
    and `-` takes a special meaning.

    # Inputs

    `negated`
    : whether the expression matches the characters not in the set

    `members`
    : the characters, a non-empty list (duplicates allowed)
  */
  bracket =
    negated: members:
    let
      set = listToAttrs (
        map (c: {
          name = c;
          value = true;
        }) members
      );
      has = c: set ? ${c};
      plain = filter (
        c:
        !(elem c [
          "]"
          "^"
          "["
          "-"
        ])
      ) (attrNames set);
      opt = c: if has c then [ c ] else [ ];
      ordered = opt "]" ++ plain ++ opt "^" ++ opt "[" ++ opt "-";
      # `^` may not come first unless the expression is negated.
      safe =
        if negated || head ordered != "^" then
          ordered
        else
          opt "-" ++ opt "[" ++ [ "^" ];
    in
    if !negated && ordered == [ "^" ] then
      "\\^"
    else
      "[${if negated then "^" else ""}${concatStringsSep "" safe}]";

  /**
    Docker's `Pattern.compile` for one cleaned pattern: its match type (`exact`, `prefix`,
    `suffix` or `regexp`) and, for `regexp`, the extended regular expression equivalent to the Go
    regexp Docker builds. Throws where Docker fails (or where cognix does not follow it; see the
    top of this file).

    # Inputs

    `pattern`
    : a pattern as `New` keeps it: trimmed, cleaned, without its `!`
  */
  compile =
    pattern:
    let
      cs = chars pattern;
      n = length cs;
      at = i: if i < n then elemAt cs i else null;
      bad = reason: throw "cognix: .dockerignore pattern \"${pattern}\": ${reason}";

      # Go's `.` does not match a newline; an extended regular expression's does.
      anyChar = "[^\n]";

      # A character after a backslash, outside or inside brackets: Go's regexp takes ASCII
      # punctuation literally and anything else as an escape of its own.
      escaped =
        c:
        if c == null then
          bad "syntax error in pattern (trailing backslash)"
        else if !isAscii c || isAlnum c then
          bad "cognix does not support the escape \\${c} (Docker passes it to Go's regexp)"
        else
          c;

      # One character of a bracket expression at `k` (filepath.Match's `getEsc`):
      # { char; next; }.
      classChar =
        k:
        let
          c = at k;
        in
        if c == null then
          bad "syntax error in pattern (unterminated [)"
        else if c == "-" || c == "]" then
          bad "syntax error in pattern (\"${c}\" where a character is expected in [...])"
        else if c == "\\" then
          {
            char = escaped (at (k + 1));
            next = k + 2;
          }
        else if c == "*" || c == "?" then
          bad "cognix does not support \"${c}\" inside [...]"
        else if !isAscii c then
          bad "cognix does not support non-ASCII characters inside [...]"
        else
          {
            char = c;
            next = k + 1;
          };

      # A POSIX named class `[:name:]` starting at `k`, as Go's regexp reads one: null when
      # there is none (the `[` is then an ordinary character).
      namedClass =
        k:
        let
          pieces = split ":]" (substring (k + 2) n pattern);
          name = head pieces;
        in
        if at (k + 1) != ":" || length pieces == 1 then
          null
        else if hasPrefix "^" name then
          bad "cognix does not support the negated class [:${name}:]"
        else if !(namedClasses ? ${name}) then
          bad "invalid character class range [:${name}:]"
        else
          {
            members = namedClasses.${name};
            next = k + stringLength name + 4;
          };

      # The bracket expression whose `[` is just before `start`: { re; next; }.
      class =
        start:
        let
          negated = at start == "^";
          first = if negated then start + 1 else start;
          items =
            k: members:
            let
              c = at k;
              named = if c == "[" then namedClass k else null;
              lo = classChar k;
              isRange = at lo.next == "-";
              hi = classChar (lo.next + 1);
            in
            if c == "]" && k > first then
              {
                re = bracket negated members;
                next = k + 1;
              }
            else if named != null then
              items named.next (members ++ named.members)
            else if !isRange then
              items lo.next (members ++ [ lo.char ])
            else if codeOf.${hi.char} < codeOf.${lo.char} then
              bad "invalid character class range ${lo.char}-${hi.char}"
            else
              items hi.next (members ++ codes codeOf.${lo.char} codeOf.${hi.char});
        in
        items first [ ];

      # One turn of the loop in `compile`: `i` indexes the next character, `turn` counts the
      # turns (Docker tests `i == 0`), `type` is the match type so far and `re` the expression.
      loop =
        i: turn: type: re:
        let
          c = at i;
          next = at (i + 1);
          # After `**`: one `/` is eaten; then either the end or more pattern.
          afterStars = if at (i + 2) == "/" then i + 3 else i + 2;
          atEnd = at afterStars == null;
          starsType =
            if turn == 0 then
              "suffix"
            else if atEnd && type == "exact" then
              "prefix"
            else
              "regexp";
          starsRe =
            if atEnd && type == "exact" then
              re
            else if atEnd then
              re + "${anyChar}*"
            else
              re + "(${anyChar}*/)?";
          found = class (i + 1);
          continue = loop (i + 1) (turn + 1);
        in
        if c == null then
          { inherit type re; }
        else if c == "*" && next == "*" then
          loop afterStars (turn + 1) starsType starsRe
        else if c == "*" then
          continue "regexp" (re + "[^/]*")
        else if c == "?" then
          continue "regexp" (re + "[^/]")
        else if c == "\\" then
          loop (i + 2) (turn + 1) "regexp" (re + quoteChar (escaped next))
        else if c == "[" then
          loop found.next (turn + 1) "regexp" (re + found.re)
        else if c == "]" then
          continue "regexp" (re + quoteChar c)
        else if c == "^" then
          # Go's regexp reads an unescaped `^` as an anchor, and so does an extended one.
          continue type (re + "^")
        else
          continue type (re + quoteChar c);
    in
    loop 0 0 "exact" "";

  /**
    The extended regular expression that matches a path exactly when Docker's `Pattern.match`
    does, for `builtins.match` (which anchors it at both ends).

    # Inputs

    `pattern`
    : a pattern as `New` keeps it: trimmed, cleaned, without its `!`
  */
  patternToRegex =
    pattern:
    let
      compiled = compile pattern;
      suffix = dropFirst 2 pattern;
    in
    if compiled.type == "exact" then
      quote pattern
    else if compiled.type == "prefix" then
      quote (dropLast 2 pattern) + ".*"
    else if compiled.type == "suffix" then
      if suffix == "" then
        ".*"
      else if hasPrefix "/" suffix then
        "(.*/)?" + quote (dropFirst 1 suffix)
      else
        ".*" + quote suffix
    else
      compiled.re;

  /**
    The patterns of a `.dockerignore` file, as `ignorefile.ReadAll` reads them: a UTF-8 byte
    order mark is dropped, a line starting with `#` is a comment, every line is trimmed of white
    space and cleaned like a path (`/foo/` is `foo`), empty lines are skipped. A `!` keeps its
    place before the cleaned pattern.

    # Inputs

    `text`
    : the contents of a `.dockerignore` file
  */
  readPatterns =
    text:
    let
      byteOrderMark = unicode "feff";
      lines = splitOn "\n" text;
      # bufio.ScanLines drops a carriage return before each newline.
      dropReturn = line: if hasSuffix "\r" line then dropLast 1 line else line;
      withoutMark =
        if lines != [ ] && hasPrefix byteOrderMark (head lines) then
          [ (dropFirst (stringLength byteOrderMark) (head lines)) ] ++ tail lines
        else
          lines;
      read =
        line:
        let
          trimmed = trimSpace line;
          invert = hasPrefix "!" trimmed;
          body = if invert then trimSpace (dropFirst 1 trimmed) else trimmed;
          cleaned = if body == "" then "" else clean body;
          relative =
            if stringLength cleaned > 1 && hasPrefix "/" cleaned then
              dropFirst 1 cleaned
            else
              cleaned;
        in
        (if invert then "!" else "") + relative;
      isPattern = line: !(hasPrefix "#" line) && trimSpace line != "";
      kept = filter isPattern (map dropReturn withoutMark);
    in
    map read kept;

  /**
    Parse a `.dockerignore` file into rules, in file order, as `patternmatcher.New` builds
    them. Throws on a pattern Docker rejects (a lone `!`, a malformed `[...]`, a trailing
    backslash) and on the few that cognix does not support (see the top of this file).

    # Inputs

    `text`
    : the contents of a `.dockerignore` file

    # Output

    `[ { negated = bool; regex = string; pattern = string; } ... ]`: `pattern` is the cleaned
    pattern without its `!`, `regex` the extended regular expression for `builtins.match`.
  */
  parse =
    text:
    let
      rule =
        line:
        let
          # New trims and cleans again, `!` included: "!/" becomes "!".
          cleaned = clean (trimSpace line);
          negated = hasPrefix "!" cleaned;
          pattern = if negated then dropFirst 1 cleaned else cleaned;
        in
        if cleaned == "!" then
          throw "cognix: .dockerignore: illegal exclusion pattern: \"!\""
        else
          {
            inherit negated pattern;
            regex = patternToRegex pattern;
          };
    in
    map rule (readPatterns text);

  # Whether the pattern of `rule` (from `parse`) matches `path` itself.
  matchesPath = rule: path: match rule.regex path != null;

  /**
    `MatchesOrParentMatches`: whether `path` is ignored when each pattern is tried on the path
    and on each directory above it, the last matching pattern deciding.

    # Inputs

    `rules`
    : the result of `parse`

    `path`
    : a slash-separated path relative to the context, like "a/b/c.txt"
  */
  matchesOrParentMatches =
    rules: path:
    let
      parents = parentsOf path;
      step =
        matched: rule:
        if rule.negated != matched then
          matched
        else if matchesPath rule path || any (matchesPath rule) parents then
          !rule.negated
        else
          matched;
    in
    foldl' step false rules;

  /**
    One call of `MatchesUsingParentResults`: { matched; info; } for `path`, given `parentInfo`,
    the `info` of the directory just above it (null at the top).

    # Inputs

    `rules`
    : the result of `parse`

    `parentInfo`
    : a list of booleans, one for each rule, or null

    `path`
    : a slash-separated path relative to the context
  */
  usingParentResults =
    rules: parentInfo: path:
    let
      step =
        state: i:
        let
          rule = elemAt rules i;
          fromParent = parentInfo != null && elemAt parentInfo i;
          # Without parent results, the directories above are tried as well.
          triedOnParents = parentInfo == null && any (matchesPath rule) (parentsOf path);
          tried = rule.negated == state.matched && (matchesPath rule path || triedOnParents);
          matches = fromParent || tried;
        in
        {
          matched = if matches then !rule.negated else state.matched;
          info = state.info ++ [ matches ];
        };
    in
    foldl' step {
      matched = false;
      info = [ ];
    } (genList (i: i) (length rules));

  /**
    Whether BuildKit leaves `path` out of the build context: `MatchesUsingParentResults` as
    fsutil's walk calls it, each directory above `path` first. This is
    `matchesOrParentMatches` except in rare files where a pattern comes back after an exception
    (`a`, `!a/b`, `a` keeps `a/b` here and ignores it there).

    # Inputs

    `rules`
    : the result of `parse`

    `path`
    : a slash-separated path relative to the context, like "a/b/c.txt" (no leading "./")
  */
  isIgnored =
    rules: path:
    let
      walkDown = info: dir: (usingParentResults rules info dir).info;
      parentInfo = foldl' walkDown null (parentsOf path);
    in
    rules != [ ] && (usingParentResults rules parentInfo path).matched;

  /**
    Whether fsutil's walk goes on into an ignored directory, because an exception (`!`) might
    bring back something below it: always when an exception has a wildcard other than a
    trailing `/*` or `/**`, else when an exception's pattern starts with the directory's path.
    Otherwise BuildKit skips the whole directory.

    # Inputs

    `rules`
    : the result of `parse`

    `dir`
    : the ignored directory, a slash-separated path relative to the context
  */
  walksInto =
    rules: dir:
    let
      withoutTrailingGlob =
        pattern:
        let
          noStars = if hasSuffix "/**" pattern then dropLast 3 pattern else pattern;
        in
        if hasSuffix "/*" noStars then dropLast 2 noStars else noStars;
      stems = map (rule: withoutTrailingGlob rule.pattern) (filter (rule: rule.negated) rules);
      onlyPrefixes = all (stem: match ".*[]*?[^\\].*" stem == null) stems;
    in
    !onlyPrefixes || any (stem: hasPrefix (dir + "/") (stem + "/")) stems;
in
{
  inherit
    parse
    isIgnored
    matchesOrParentMatches
    walksInto
    patternToRegex
    clean
    ;
}

# INTERFACE TEST DOUBLE, never a build: the plain packages of the nixpkgs contract stub
# (DESIGN.md section 9): the ones cognix's Nix library and the project flake name directly,
# and every attribute path in cognix/data/apt-to-nixpkgs.toml, old names of its [renames]
# included.
#
# Attribute names and outputs are the table's: that file records, per entry, the nixpkgs
# file and stored commit each attribute and output was read in (`checked-in`,
# `checked-at`), so the stub does not repeat them. A dotted path whose last part is an
# output name (`glib.dev`, `mesa.drivers`) gives the package that output; any other dotted
# path (`xorg.libX11`) is a nested set. A package has `out` plus exactly the outputs the
# table names for it, so a reference to an output nixpkgs does not have fails here too.
# `stdenv.cc.cc.lib` is in the table but belongs to stdenv.nix.
{ common }:
let
  table = common.readData "apt-to-nixpkgs.toml";

  outputNames = [
    "out"
    "lib"
    "dev"
    "bin"
    "man"
    "doc"
    "drivers"
    "static"
  ];

  # "glib.dev" -> { path = [ "glib" ]; outputs = [ "out" "dev" ]; }
  # "xorg.libX11" -> { path = [ "xorg" "libX11" ]; outputs = [ "out" ]; }
  parse =
    dotted:
    let
      parts = builtins.filter builtins.isString (builtins.split "\\." dotted);
      count = builtins.length parts;
      last = builtins.elemAt parts (count - 1);
      hasOutput = count > 1 && builtins.elem last outputNames;
    in
    {
      path = if hasOutput then common.take (count - 1) parts else parts;
      outputs = [ "out" ] ++ (if hasOutput then [ last ] else [ ]);
    };

  # A renamed attribute's dotted forms follow the rename of their first part
  # (`libx11.dev` -> `xorg.libX11.dev`), as the table's header says.
  renamed =
    dotted:
    let
      parts = builtins.filter builtins.isString (builtins.split "\\." dotted);
      first = builtins.head parts;
      rest = builtins.substring (builtins.stringLength first) (-1) dotted;
    in
    if table.renames ? ${first} then [ (table.renames.${first}.old + rest) ] else [ ];

  patterned = builtins.concatMap (entry: entry.nixpkgs) (builtins.attrValues table.packages);
  tablePaths = builtins.filter (p: builtins.substring 0 7 p != "stdenv.") (
    patterned ++ builtins.concatMap renamed patterned
  );

  # Turns a list of { path; outputs; } into nested sets of stub packages.
  tree =
    prefix: entries:
    let
      heads = common.unique (map (e: builtins.head e.path) entries);
      node =
        head:
        let
          mine = builtins.filter (e: builtins.head e.path == head) entries;
          leaves = builtins.filter (e: builtins.length e.path == 1) mine;
          deeper = map (e: e // { path = builtins.tail e.path; }) (
            builtins.filter (e: builtins.length e.path > 1) mine
          );
          attrPath = prefix + head;
        in
        if deeper == [ ] then
          common.mkPackage {
            inherit attrPath;
            pname = head;
            outputs = common.unique (builtins.concatMap (e: e.outputs) leaves);
          }
        else if leaves == [ ] then
          tree "${attrPath}." deeper
        else
          throw "nixpkgs-stub: ${attrPath} is both a package and a set in apt-to-nixpkgs.toml";
    in
    builtins.listToAttrs (
      map (head: {
        name = head;
        value = node head;
      }) heads
    );

  fromTable = tree "" (map parse tablePaths);

  package =
    attrPath: outputs:
    common.mkPackage {
      inherit attrPath outputs;
      pname = attrPath;
    };

  # Named by cognix's Nix library (DESIGN.md section 5) and the project flake.
  direct = {
    # A setup hook (pkgs/build-support/setup-hooks/auto-patchelf.sh @ a2ff8c71b155); it is
    # configured through mkDerivation attributes, which stdenv.nix checks.
    autoPatchelfHook = package "autoPatchelfHook" [ "out" ];
    bashInteractive = package "bashInteractive" [ "out" ];
    coreutils = package "coreutils" [ "out" ];
    cacert = package "cacert" [ "out" ];
    tini = package "tini" [ "out" ];
    # nix/library-check.nix puts its lib/ on the checker's library path.
    glibc = package "glibc" [
      "out"
      "bin"
      "dev"
    ];
    patchelf = package "patchelf" [ "out" ];
    # libcrypt.so.1, which glibc stopped shipping in 2.38 (nixos-23.11); the wheels'
    # baseline in nix/wheels.nix and nix/library-check.nix (top-level at every pin:
    # pkgs/top-level/all-packages.nix, later pkgs/by-name/li/libxcrypt).
    libxcrypt = package "libxcrypt" [ "out" ];
    # the project flake: cognix's wrapper PATH and the development shell
    nix = package "nix" [ "out" ];
    skopeo = package "skopeo" [ "out" ];
    uv = package "uv" [ "out" ];
    ruff = package "ruff" [ "out" ];
  };

  overlap = builtins.attrNames (builtins.intersectAttrs direct fromTable);
in
if overlap != [ ] then
  throw "nixpkgs-stub: packages.nix defines ${toString overlap} twice"
else
  fromTable // direct

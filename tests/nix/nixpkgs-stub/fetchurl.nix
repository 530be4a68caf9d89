# INTERFACE TEST DOUBLE, never a build: `fetchurl` of the nixpkgs contract stub
# (DESIGN.md section 9).
#
# Checked against pkgs/build-support/fetchurl/default.nix @
# 005b8027ceae35e3066de839d0c8a05a3ab15171 (the newest stored version: lib.extendMkDerivation,
# no ellipsis). The pinned commits are not stored; an ancient version (81392dd6, with md5)
# is the only other one stored. The arguments below are the ones believed present at EVERY
# pin, 23.11 to 26.05: `derivationArgs` (came with extendMkDerivation, 2025) is left out,
# and so is `md5` (long removed). That the 23.11/24.05 pins already take curlOptsList,
# netrcPhase, netrcImpureEnvVars, pname, version, passthru, preferLocalBuild and
# nativeBuildInputs is from memory of those releases, not from a stored file: UNCONFIRMED
# (docs/nixpkgs-interfaces.md section 2).
#
# STRICTER THAN NIXPKGS: a hash is required (nixpkgs falls back to lib.fakeHash when cacert
# is available), because a generated flake must never fetch without one.
{ common }:
let
  checked =
    "pkgs/build-support/fetchurl/default.nix @ 005b8027ceae35e3066de839d0c8a05a3ab15171"
    + " (arguments common to all pins)";
  fn = "fetchurl";

  # Every argument, with nixpkgs' defaults in comments:
  #   url ? ""                 a URL; exactly one of url / urls
  #   urls ? [ ]               URLs tried in order
  #   curlOpts ? ""            extra curl options, split on spaces
  #   curlOptsList ? [ ]       extra curl options, one per element
  #   name ? null              store name; default: basename of the first URL
  #   pname ? null, version ? null   the name is pname-version when both are set
  #   hash ? ""                SRI hash (preferred)
  #   outputHash ? "", outputHashAlgo ? ""   legacy; outputHash needs outputHashAlgo
  #   sha1 ? "", sha256 ? "", sha512 ? ""     legacy hash forms
  #   recursiveHash ? false    hash the NAR instead of the flat file
  #   netrcPhase ? null, netrcImpureEnvVars ? [ ]   BASIC auth
  #   postFetch ? ""           shell code run after the download
  #   downloadToTemp ? false   download to $downloadedFile instead of $out
  #   executable ? false       set the executable bit (forces a recursive hash)
  #   showURLs ? false         write the resolved URLs instead of downloading
  #   meta ? { }, passthru ? { }
  #   preferLocalBuild ? true
  #   nativeBuildInputs ? [ ]  curl is always added
  allowed = [
    "url"
    "urls"
    "curlOpts"
    "curlOptsList"
    "name"
    "pname"
    "version"
    "hash"
    "outputHash"
    "outputHashAlgo"
    "sha1"
    "sha256"
    "sha512"
    "recursiveHash"
    "netrcPhase"
    "netrcImpureEnvVars"
    "postFetch"
    "downloadToTemp"
    "executable"
    "showURLs"
    "meta"
    "passthru"
    "preferLocalBuild"
    "nativeBuildInputs"
  ];

  hashForms = [
    "hash"
    "outputHash"
    "sha1"
    "sha256"
    "sha512"
  ];

  fetchurl =
    given:
    let
      args = common.checkArgs {
        inherit fn checked allowed;
        args = given;
      };
      url = args.url or "";
      urls = args.urls or [ ];
      resolvedUrls =
        if urls != [ ] && url == "" then
          common.checkType fn "urls" "list" urls
        else if urls == [ ] && url != "" then
          [ (common.checkType fn "url" "string" url) ]
        else
          throw (
            "nixpkgs-stub: fetchurl requires exactly one of `url` or `urls`"
            + " (checked against ${checked})"
          );
      hashesGiven = builtins.filter (n: (args.${n} or "") != "") hashForms;
      hashAttrs =
        if builtins.length hashesGiven > 1 then
          throw "nixpkgs-stub: fetchurl: multiple hashes passed (${toString hashesGiven})"
        else if hashesGiven == [ ] then
          throw "nixpkgs-stub: fetchurl requires a hash (checked against ${checked})"
        else if args ? hash && args.hash != "" then
          { outputHash = args.hash; }
        else if args ? outputHash && args.outputHash != "" then
          if (args.outputHashAlgo or "") != "" then
            { inherit (args) outputHash outputHashAlgo; }
          else
            throw "nixpkgs-stub: fetchurl was passed outputHash without outputHashAlgo"
        else
          let
            algo = builtins.head hashesGiven;
          in
          {
            outputHashAlgo = algo;
            outputHash = args.${algo};
          };
      name =
        if args ? pname && args ? version then
          "${args.pname}-${args.version}"
        else if args ? name && args.name != null then
          args.name
        else
          baseNameOf (toString (builtins.head resolvedUrls));
    in
    # A fixed-output derivation like the real one: its outPath depends only on the name
    # and the hash, and an ill-formed hash is rejected by Nix itself.
    common.mkStubDrv {
      inherit fn name args;
      drvAttrs = hashAttrs // {
        outputHashMode =
          if (args.recursiveHash or false) || (args.executable or false) then
            "recursive"
          else
            "flat";
        urls = resolvedUrls;
      };
      passthru = (args.passthru or { }) // {
        url = builtins.head resolvedUrls;
        meta = args.meta or { };
      };
    };
in
{
  inherit fetchurl;
}

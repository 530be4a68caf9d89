# INTERFACE TEST DOUBLE, never a build: `dockerTools.streamLayeredImage` of the nixpkgs
# contract stub (DESIGN.md section 9).
#
# Checked against pkgs/build-support/docker/default.nix @
# 34b7a306c35b279929eebbdb43af071fd92d0d4b (the code; 23.05/23.11 era, no ellipsis) and
# doc/build-helpers/images/dockertools.section.md @ b09f2c739a3e49b80049c1fd80bd8a393cc7fbc1
# (the manual, 2025 era). The pinned commits are not stored. The stub takes only the
# arguments both have, the "safe common subset" of docs/nixpkgs-interfaces.md section 1:
#   name                               required; the image name
#   tag ? null                         null: the hash of the image config's store path
#   fromImage ? null                   base image; null is FROM scratch
#   contents ? [ ]                     a path or a list of paths linked into the root
#   config ? { }                       Docker image config (Cmd, Entrypoint, Env, ...)
#   created ? "1970-01-01T00:00:01Z"
#   extraCommands ? ""                 shell code run in the customisation layer
#   fakeRootCommands ? ""              shell code run under fakeroot
#   enableFakechroot ? false
#   maxLayers ? 100                    must be > 1 (nixpkgs asserts it)
#   includeStorePaths ? true
#   passthru ? { }
# Differs across the pins, so refused: architecture, mtime, uid, gid, uname, gname,
# includeNixDB, meta (newer pins only); slurpfileGenerator/genArgs (forks only).
{ common }:
let
  checked =
    "pkgs/build-support/docker/default.nix @ 34b7a306c35b279929eebbdb43af071fd92d0d4b and"
    + " doc/build-helpers/images/dockertools.section.md @"
    + " b09f2c739a3e49b80049c1fd80bd8a393cc7fbc1 (arguments common to all pins)";
  fn = "dockerTools.streamLayeredImage";

  streamLayeredImage =
    given:
    let
      args = common.checkArgs {
        inherit fn checked;
        allowed = [
          "name"
          "tag"
          "fromImage"
          "contents"
          "config"
          "created"
          "extraCommands"
          "fakeRootCommands"
          "enableFakechroot"
          "maxLayers"
          "includeStorePaths"
          "passthru"
        ];
        required = [ "name" ];
        args = given;
      };
      maxLayers = args.maxLayers or 100;
      baseName = baseNameOf (common.checkType fn "name" "string" args.name);
      tag = args.tag or null;
      image = common.mkStubDrv {
        inherit fn args;
        name = "stream-${baseName}";
        # nixpkgs: passthru = passthru // { inherit (conf) imageTag; isExe = true; }
        passthru = (args.passthru or { }) // {
          imageName = common.toLower args.name;
          # nixpkgs takes the hash of the conf.json store path when tag is null; the stub
          # takes its own hash part, which is just as content-derived.
          imageTag =
            if tag == null then
              builtins.substring 0 32 (
                baseNameOf (builtins.unsafeDiscardStringContext image.outPath)
              )
            else
              tag;
          isExe = true;
        };
      };
    in
    if !(maxLayers > 1) then
      # nixpkgs' own message, typo included.
      throw (
        "the maxLayers argument of dockerTools.buildLayeredImage function must be greather"
        + " than 1 (current value: ${toString maxLayers})"
      )
    else
      image;
in
{
  dockerTools = {
    inherit streamLayeredImage;
  };
}

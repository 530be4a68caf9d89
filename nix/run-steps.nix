/**
  cog.yaml's `build.run` items as the lock decided them: downloads (fetched with their
  locked sha256 and placed at their destination), filesystem commands (run as argv, no
  shell, in the order of cog.yaml) and nixpkgs packages (added to the image's contents).

  Downloads and commands run in the image's customisation layer under nixpkgs' fakechroot,
  so an absolute path in a command means that path in the image, as in a Dockerfile RUN.

  # Type

  ```
  runSteps :: AttrSet -> { commands :: String; extraAttributes :: [AttrSet]; }
  ```
*/
{
  # The nixpkgs package set of the pin.
  pkgs,
  # shell.nix.
  shell,
  # The lock's `[[tool.cognix.run]]` tables.
  steps,
}:
let
  inherit (builtins)
    concatStringsSep
    filter
    map
    toString
    ;

  origin = step: "the cog.yaml run item on line ${toString step.line}";

  download =
    step:
    let
      file = pkgs.fetchurl {
        inherit (step) url sha256;
        name = "cog-run-line-${toString step.line}";
      };
      dest = shell.quote step.dest;
    in
    ''
      # ${origin step}: ${step.url}
      mkdir -p "$(dirname ${dest})"
      cp ${file} ${dest}
      chmod ${shell.quote (step.mode or "0644")} ${dest}
    '';

  command =
    step:
    let
      run = shell.quoteAll step.argv;
      inFolder = if step ? cwd then "(cd ${shell.quote step.cwd} && ${run})" else run;
      redirect = if step.append or false then ">>" else ">";
      withOutput =
        if step ? stdout then "${inFolder} ${redirect} ${shell.quote step.stdout}" else inFolder;
    in
    ''
      # ${origin step}
      ${withOutput}
    '';

  render =
    step:
    if step.kind == "download" then
      download step
    else if step.kind == "shell" then
      command step
    else
      "";

  nixpkgsSteps = filter (step: step.kind == "nixpkgs") steps;
in
{
  # Bash for fakeRootCommands; empty when no step changes files.
  commands = concatStringsSep "" (map render steps);

  extraAttributes = map (step: {
    origin = origin step;
    inherit (step) attribute;
  }) nixpkgsSteps;
}

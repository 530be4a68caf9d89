/**
  The OpenAPI schema of the predictor (and of the trainer, when cog.yaml names one),
  generated inside the build from the filtered source by cognix's standard-library-only
  schema module (cognix/schema, vendored as .cognix/cognix_schema by `cognix generate`),
  so the image's `/src/.cog/openapi_schema.json` always matches its `/src`.

  The `run.cog.openapi_schema` label must be known when the flake is evaluated, before
  anything is built, so `cognix generate` writes the same schema into .cognix/project.json.
  This derivation fails when the two differ, which happens when predict.py changed after
  `cognix generate`: the label can never describe another predictor than the one in /src.

  # Type

  ```
  schema :: AttrSet -> Derivation   # a JSON file
  ```
*/
{
  # The nixpkgs package set of the pin; its python3 runs the schema module.
  pkgs,
  # The filtered project source (source.nix).
  source,
  # The predictor reference, "predict.py:Predictor".
  predictor,
  # The trainer reference, "train.py:train", or null when cog.yaml has no `train`.
  trainer ? null,
  # The folder of cognix's schema package.
  schemaModule,
  # The cog SDK version, written into the schema's info.version.
  cogVersion,
  # The schema text that `cognix generate` computed for the label.
  expected,
  # shell.nix.
  shell,
}:
let
  label = pkgs.writeText "openapi-schema-label.json" expected;
  trainArguments = if trainer == null then "" else " --train ${shell.quote trainer}";
in
pkgs.runCommand "openapi-schema.json" { } ''
  mkdir modules
  ln -s ${schemaModule} modules/cognix_schema
  export PYTHONPATH=$PWD/modules
  cd ${source}
  ${pkgs.python3.interpreter} -m cognix_schema . ${shell.quote predictor}${trainArguments} \
    --cog-version ${shell.quote cogVersion} > $out
  if ! cmp -s $out ${label}; then
    echo "the predictor changed after \`cognix generate\`: its OpenAPI schema differs" >&2
    echo "from the one in .cognix/project.json; run \`cognix generate\` again" >&2
    exit 1
  fi
''

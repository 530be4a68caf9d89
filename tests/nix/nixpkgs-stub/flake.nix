# INTERFACE TEST DOUBLE, never a build: the nixpkgs contract stub as a flake, so tests can
# evaluate generated flakes with `--override-input nixpkgs path:<repo>/tests/nix/nixpkgs-stub`.
# Those flakes only `import nixpkgs { ... }`, which reads default.nix; `lib` is left out
# because cognix's Nix library uses builtins only.
{
  description = "nixpkgs contract stub for cognix's interface tests (never builds anything)";

  outputs = _: {
    stubbed = "interface test double of nixpkgs; see default.nix";
  };
}

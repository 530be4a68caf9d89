# INTERFACE TEST DOUBLE, never a build: the `cudaPackages_X_Y` sets of the nixpkgs contract
# stub (DESIGN.md section 9), with unfree packages that refuse to evaluate unless
# config.allowUnfreePredicate admits them, as nixpkgs' check-meta.nix does
# (pkgs/stdenv/generic/check-meta.nix @ 00284adb9c0a07c6d9803780609af29fbb29c216: the
# predicate is called with the package's attributes; the refusal reads "Package ‘NAME’ in
# POS has an unfree license (‘LICENSE’), refusing to evaluate.").
#
# Which sets: one per CUDA minor that is both in cognix/data/torch-cuda.toml ([cuda]) and in
# the `cuda` list of at least one pin of cognix/data/nixpkgs-pins.toml (11.0 ... 13.2; the
# stub is the union of the pins, and cognix's pin choice decides which set a flake may use).
# What each set has, checked against the stored manifests under
# pkgs/development/cuda-modules/cuda/manifests/ (redistrib_11.4.4.json @ 984ea65ebec8 is the
# oldest) and pkgs/development/cuda-modules/_cuda/manifests/cuda/ (12.6.3 ... 13.2.x):
#   cudatoolkit, cudnn                       every set
#   cuda_cudart, libcublas                   11.4 and newer: the redistributable packages
#                                            start with the 11.4.4 manifest; 11.0-11.3
#                                            have only the runfile cudatoolkit
# Versions here are the CUDA minor (and cuDNN major from torch-cuda.toml), not real ones.
{ common }:
let
  torchCuda = common.readData "torch-cuda.toml";
  pins = (common.readData "nixpkgs-pins.toml").pin;

  pinnedMinors = common.unique (builtins.concatLists (map (pin: pin.cuda or [ ]) pins));
  minors = builtins.filter (v: builtins.elem v pinnedMinors) (builtins.attrNames torchCuda.cuda);

  cudaEula = {
    shortName = "CUDA EULA";
    fullName = "CUDA Toolkit End User License Agreement (EULA)";
    free = false;
  };
  cudnnEula = {
    shortName = "cuDNN EULA";
    fullName = "NVIDIA cuDNN Software License Agreement (EULA)";
    free = false;
  };
  libraryOutputs = [
    "out"
    "lib"
    "dev"
  ];

  attrName = minor: "cudaPackages_" + builtins.replaceStrings [ "." ] [ "_" ] minor;

  cudaSet =
    minor:
    let
      setName = attrName minor;
      unfree =
        pname: version: license: outputs:
        common.mkPackage {
          attrPath = "${setName}.${pname}";
          inherit
            pname
            version
            license
            outputs
            ;
        };
      always = {
        cudaVersion = minor;
        cudatoolkit = unfree "cudatoolkit" minor cudaEula [
          "out"
          "lib"
        ];
        cudnn = unfree "cudnn" torchCuda.cuda.${minor}.cudnn cudnnEula libraryOutputs;
      };
      redistributable = {
        cuda_cudart = unfree "cuda_cudart" minor cudaEula libraryOutputs;
        libcublas = unfree "libcublas" minor cudaEula libraryOutputs;
      };
    in
    if builtins.compareVersions minor "11.4" >= 0 then always // redistributable else always;
in
builtins.listToAttrs (
  map (minor: {
    name = attrName minor;
    value = cudaSet minor;
  }) minors
)

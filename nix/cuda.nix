/**
  What a GPU image needs beyond its wheels: the folders and variables that let the NVIDIA
  container runtime inject the driver's libraries at run time (cognix/data/
  image-libraries.toml lists them, for the library check), and nixpkgs' CUDA libraries
  when no locked wheel brings CUDA (the lock's `cuda.source` then starts with "nixpkgs").
  nixpkgs marks CUDA unfree; `unfreeNames` is what the generated flake admits: nothing for
  an image without nixpkgs CUDA, else the CUDA packages it uses and the CUDA components
  those may depend on.

  # Type

  ```
  cuda :: AttrSet -> { packages; unfreeNames; environment; libraryPath; }
  ```
*/
{
  # The lock's `[tool.cognix.cuda]` table, or null for CPU images.
  cuda,
  # Whether cog.yaml asks for a GPU.
  gpu,
  # The lock's system packages: [ { apt; nixpkgs = [ path ]; kind; } ].
  systemPackages,
  # attributes.nix, applied to the pinned pkgs; only used when CUDA comes from nixpkgs.
  attributes,
}:
let
  inherit (builtins)
    concatMap
    filter
    map
    replaceStrings
    substring
    ;

  fromNixpkgs = cuda != null && substring 0 8 cuda.source == "nixpkgs ";
  cudaSet = "cudaPackages_" + replaceStrings [ "." ] [ "_" ] cuda.version;

  # The runtime libraries torch and its peers load; the toolkit's compilers stay out.
  runtimeAttributes = map (name: "${cudaSet}.${name}") [
    "cuda_cudart"
    "libcublas"
    "cudnn"
  ];

  aptAttributes = concatMap (entry: entry.nixpkgs) (
    filter (entry: entry.kind == "cuda") systemPackages
  );

  attributePaths = (if fromNixpkgs then runtimeAttributes else [ ]) ++ aptAttributes;

  # CUDA components that a used one may take as an input (libcusolver needs libcublas,
  # libcusparse and libnvjitlink; cudatoolkit joins them all; see nixpkgs'
  # pkgs/development/cuda-modules/cuda/overrides.nix, search-index file 34415398, commit
  # not recorded),
  # admitted with it, so that one locked CUDA package never stops evaluation on another.
  components = [
    "cuda_cccl"
    "cuda_cudart"
    "cuda_cupti"
    "cuda_nvcc"
    "cuda_nvml_dev"
    "cuda_nvrtc"
    "cuda_nvtx"
    "cudatoolkit"
    "cudnn"
    "libcublas"
    "libcufft"
    "libcufile"
    "libcurand"
    "libcusolver"
    "libcusparse"
    "libcusparse_lt"
    "libnvjitlink"
    "nccl"
  ];
in
{
  # Each package's `lib` output where it has one: nixpkgs' CUDA redistributables move `lib`
  # out of their default output (cuda-modules/generic-builders/manifest.nix), so the image
  # and LD_LIBRARY_PATH need that output, not the default one.
  packages = map (
    path:
    let
      package = attributes.byPath "the lock's CUDA ${
        if cuda == null then "" else cuda.version
      }" path;
    in
    package.lib or package
  ) attributePaths;

  unfreeNames =
    if attributePaths == [ ] then
      [ ]
    else
      components
      ++ filter (name: !(builtins.elem name components)) (
        map attributes.packageName attributePaths
      );

  # Where nvidia-container-toolkit puts the driver: Debian-style and RHEL-style hosts.
  libraryPath =
    if gpu then
      [
        "/usr/lib64"
        "/usr/lib/x86_64-linux-gnu"
        "/usr/local/nvidia/lib64"
      ]
    else
      [ ];

  environment = if gpu then { NVIDIA_DRIVER_CAPABILITIES = "all"; } else { };
}

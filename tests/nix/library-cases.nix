# Table-driven cases for the functions of cognix's Nix library (nix/), in the style of
# pyproject.nix's lib tests: each attribute is `<file>.<function>.<case>` with the value the
# function gives (`actual`) and the one it must give (`expected`). tests/test_nix_library.py
# evaluates this file with `nix-instantiate --eval --strict --json` and compares the two.
# Thrown errors are checked there by their exact messages; here, `fails` marks the cases
# that must throw (builtins.tryEval cannot see a message).
#
# nixpkgs is the contract stub (tests/nix/nixpkgs-stub): an interface test double.
{
  # The library under test.
  nix ? ../../nix,
}:
let
  pkgs = import ./nixpkgs-stub { system = "x86_64-linux"; };
  shell = import (nix + "/shell.nix");
  attributes = import (nix + "/attributes.nix") { inherit pkgs; };

  cuda =
    arguments:
    import (nix + "/cuda.nix") (
      {
        inherit attributes;
        cuda = null;
        gpu = false;
        systemPackages = [ ];
      }
      // arguments
    );

  system =
    systemPackages: extraAttributes:
    import (nix + "/system.nix") { inherit pkgs attributes systemPackages extraAttributes; };

  runSteps = steps: import (nix + "/run-steps.nix") { inherit pkgs shell steps; };

  fails = value: !(builtins.tryEval (builtins.deepSeq value value)).success;
  names = packages: map (package: package.name) packages;
in
{
  "shell.quote.plain" = {
    actual = shell.quote "a b";
    expected = "'a b'";
  };
  "shell.quote.single-quote" = {
    actual = shell.quote "it's";
    expected = "'it'\\''s'";
  };
  "shell.quote.dollar" = {
    actual = shell.quote "$HOME `x`";
    expected = "'$HOME `x`'";
  };
  "shell.quoteAll.words" = {
    actual = shell.quoteAll [
      "echo"
      "a b"
      ""
    ];
    expected = "'echo' 'a b' ''";
  };

  "attributes.byPath.top-level" = {
    actual = (attributes.byPath "test" "ffmpeg").name;
    expected = pkgs.ffmpeg.name;
  };
  "attributes.byPath.output" = {
    actual = (attributes.byPath "test" "glib.out").outPath;
    expected = pkgs.glib.out.outPath;
  };
  "attributes.byPath.nested" = {
    actual = (attributes.byPath "test" "xorg.libX11").name;
    expected = pkgs.xorg.libX11.name;
  };
  "attributes.byPath.missing" = {
    actual = fails (attributes.byPath "apt package nope" "no-such-package");
    expected = true;
  };
  "attributes.packageName.plain" = {
    actual = attributes.packageName "ffmpeg";
    expected = "ffmpeg";
  };
  "attributes.packageName.output" = {
    actual = attributes.packageName "cudaPackages_12_1.libcublas.lib";
    expected = "libcublas";
  };

  "cuda.environment.cpu" = {
    actual = (cuda { }).environment;
    expected = { };
  };
  "cuda.environment.gpu" = {
    actual = (cuda { gpu = true; }).environment;
    expected = {
      NVIDIA_DRIVER_CAPABILITIES = "all";
    };
  };
  "cuda.libraryPath.cpu" = {
    actual = (cuda { }).libraryPath;
    expected = [ ];
  };
  "cuda.libraryPath.gpu" = {
    actual = (cuda { gpu = true; }).libraryPath;
    expected = [
      "/usr/lib64"
      "/usr/lib/x86_64-linux-gnu"
      "/usr/local/nvidia/lib64"
    ];
  };
  "cuda.packages.from-wheels" = {
    actual = names
      (cuda {
        gpu = true;
        cuda = {
          version = "12.1";
          source = "nvidia-cuda-runtime-cu12 wheel 12.1.105";
        };
      }).packages;
    expected = [ ];
  };
  "cuda.unfreeNames.from-nixpkgs" = {
    actual =
      builtins.filter
        (
          name:
          builtins.elem name
            (cuda {
              gpu = true;
              cuda = {
                version = "12.1";
                source = "nixpkgs cudaPackages_12.1";
              };
            }).unfreeNames
        )
        [
          "cuda_cudart"
          "libcublas"
          "cudnn"
          "libcusolver"
          "ffmpeg"
        ];
    expected = [
      "cuda_cudart"
      "libcublas"
      "cudnn"
      "libcusolver"
    ];
  };
  "cuda.unfreeNames.none" = {
    actual =
      (cuda {
        gpu = true;
        cuda = {
          version = "12.1";
          source = "nvidia-cuda-runtime-cu12 wheel 12.1.105";
        };
      }).unfreeNames;
    expected = [ ];
  };
  "cuda.unfreeNames.apt-toolkit" = {
    actual = builtins.elem "cudatoolkit"
      (cuda {
        systemPackages = [
          {
            apt = "cuda-toolkit-11-8";
            nixpkgs = [ "cudaPackages_11_8.cudatoolkit" ];
            kind = "cuda";
          }
        ];
      }).unfreeNames;
    expected = true;
  };

  "system.runtime.kinds" = {
    actual = names (
      system [
        {
          apt = "ffmpeg";
          nixpkgs = [ "ffmpeg" ];
          kind = "runtime";
        }
        {
          apt = "gcc";
          nixpkgs = [ "gcc" ];
          kind = "build-tool";
        }
      ] [ ]
    ).runtime;
    expected = [ pkgs.ffmpeg.name ];
  };
  "system.buildTools.kinds" = {
    actual = names
      (system [
        {
          apt = "gcc";
          nixpkgs = [ "gcc" ];
          kind = "build-tool";
        }
      ] [ ]).buildTools;
    expected = [ pkgs.gcc.name ];
  };
  "system.libraryPath.extra" = {
    actual =
      (system [ ] [
        {
          origin = "test";
          attribute = "glib.out";
        }
      ]).libraryPath;
    expected = [ "${pkgs.glib.out}/lib" ];
  };

  "system.libraryPath.lib-output-once" = {
    actual =
      (system [
        {
          apt = "ffmpeg";
          nixpkgs = [
            "ffmpeg.bin"
            "ffmpeg.lib"
          ];
          kind = "runtime";
        }
      ] [ ]).libraryPath;
    expected = [ "${pkgs.ffmpeg.lib}/lib" ];
  };

  "run-steps.commands.none" = {
    actual = (runSteps [ ]).commands;
    expected = "";
  };
  "run-steps.commands.shell" = {
    actual =
      (runSteps [
        {
          line = 3;
          kind = "shell";
          argv = [
            "ln"
            "-s"
            "/opt/a b"
            "/opt/c"
          ];
          cwd = "/opt";
        }
        {
          line = 4;
          kind = "shell";
          argv = [
            "echo"
            "x"
          ];
          stdout = "/etc/motd";
          append = true;
        }
      ]).commands;
    expected = ''
      # the cog.yaml run item on line 3
      (cd '/opt' && 'ln' '-s' '/opt/a b' '/opt/c')
      # the cog.yaml run item on line 4
      'echo' 'x' >> '/etc/motd'
    '';
  };
  "run-steps.commands.download" = {
    actual =
      builtins.match ".*mkdir -p \"[$][(]dirname '/usr/local/bin/pget'[)]\"\ncp /nix/store/[^ ]+-cog-run-line-7 '/usr/local/bin/pget'\nchmod '0755' '/usr/local/bin/pget'\n"
        (runSteps [
          {
            line = 7;
            kind = "download";
            url = "https://example.com/pget";
            sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
            dest = "/usr/local/bin/pget";
            mode = "0755";
          }
        ]).commands;
    expected = [ ];
  };
  "run-steps.extraAttributes.nixpkgs" = {
    actual =
      (runSteps [
        {
          line = 5;
          kind = "nixpkgs";
          attribute = "ffmpeg";
        }
      ]).extraAttributes;
    expected = [
      {
        origin = "the cog.yaml run item on line 5";
        attribute = "ffmpeg";
      }
    ];
  };
}

"""cog.yaml reading and validation: raw scalars, every key, located errors, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognix.config.load import load_project
from cognix.errors import ConfigError

PREDICTOR = (
    "from cog import BasePredictor\n\nclass Predictor(BasePredictor):\n"
    "    def predict(self) -> str:\n        return ''\n"
)


def write_project(root: Path, cog_yaml: str, **files: str) -> Path:
    """Write cog.yaml, a predict.py and any other `files` into `root`."""
    (root / "cog.yaml").write_text(cog_yaml)
    (root / "predict.py").write_text(PREDICTOR)
    for name, text in files.items():
        path = root / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def problems_of(root: Path) -> list[str]:
    """Return each problem as `line:column: message` (plus ` | hint`)."""
    with pytest.raises(ConfigError) as raised:
        load_project(root)
    return [
        f"{p.location.line}:{p.location.column}: {p.message}" + (f" | {p.hint}" if p.hint else "")
        for p in raised.value.problems
    ]


MINIMAL = 'build:\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'


class TestScalars:
    def test_unquoted_versions_keep_their_text(self, tmp_path: Path) -> None:
        project = load_project(
            write_project(
                tmp_path,
                "build:\n  python_version: 3.10\n  gpu: true\n  cuda: 11.0\n  cudnn: 8\n"
                'predict: "predict.py:Predictor"\n',
            )
        )
        build = project.config.build
        assert (build.python_version, build.cuda, build.cudnn, build.gpu) == (
            "3.10", "11.0", "8", True,
        )  # fmt: skip

    @pytest.mark.parametrize("text", ["true", "True", "TRUE"])
    def test_yaml_12_booleans(self, tmp_path: Path, text: str) -> None:
        project = load_project(write_project(tmp_path, MINIMAL + "build2: x\n"[:0] + ""))
        assert project.config.build.gpu is False
        yaml = MINIMAL.replace("build:\n", f"build:\n  gpu: {text}\n")
        assert load_project(write_project(tmp_path, yaml)).config.build.gpu is True

    def test_yes_is_not_a_boolean(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", "build:\n  gpu: yes\n")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "2:8: 'build.gpu': expected true or false, got 'yes'"
        ]

    def test_float_looking_python_version_suggests_quoting(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace('"3.11"', "3.1")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "2:19: Python 3.1 is not in any nixpkgs revision cognix pins"
            " | use one of 3.8, 3.9, 3.10, 3.11, 3.12, 3.13, 3.14"
        ]

    def test_python_version_must_be_major_minor(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace('"3.11"', '"three"')
        assert problems_of(write_project(tmp_path, yaml)) == [
            "2:19: python_version must be major.minor or major.minor.patch, got 'three'"
            ' | write the version as text, e.g. python_version: "3.11"'
        ]

    def test_comment_only_lists_are_empty(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", "build:\n  run:\n    # - echo\n  environment:\n")
        project = load_project(write_project(tmp_path, yaml.replace("  environment:\n", "")))
        assert project.config.build.run == []


class TestStructure:
    def test_empty_file_needs_python_version(self, tmp_path: Path) -> None:
        assert problems_of(write_project(tmp_path, "")) == [
            "1:1: missing required key 'build.python_version'"
            ' | add a build section with the Python version: build: {python_version: "3.11"}'
        ]

    def test_unknown_build_key_suggests_the_near_one(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", "build:\n  gpus: true\n")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "2:3: unknown key 'gpus' in 'build' | did you mean 'gpu'?"
        ]

    def test_duplicate_key(self, tmp_path: Path) -> None:
        yaml = MINIMAL + 'predict: "other.py:Predictor"\n'
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:1: duplicate key 'predict' (first defined at line 3) | keep one of the two"
        ]

    def test_broken_yaml_is_located(self, tmp_path: Path) -> None:
        yaml = 'build:\n  python_version: "3.11"\n  python_packages:\n    - "a"\n   - "b"\n'
        [problem] = problems_of(write_project(tmp_path, yaml))
        assert problem.startswith("5:4: invalid YAML: ")

    def test_run_item_read_as_mapping(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", "build:\n  run:\n    - echo key: value > /x\n")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "3:7: this run item was read as a mapping because it contains ': '"
            ' | quote the whole command: - "..."'
        ]

    def test_multi_line_run_command(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace(
            "build:\n", "build:\n  run:\n    - |\n      mkdir /a\n      mkdir /b\n"
        )
        assert problems_of(write_project(tmp_path, yaml)) == [
            "3:7: `mkdir /a …` spans several lines, which Cog does not allow in a run command"
            " | join the lines with `&&`, or split the item"
        ]

    def test_run_and_predict_together(self, tmp_path: Path) -> None:
        yaml = MINIMAL + 'run: "predict.py:Predictor"\n'
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:1: only one of run or predict can be set | remove one of the two"
        ]

    def test_requirements_and_packages_together(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace(
            "build:\n",
            "build:\n  python_requirements: r.txt\n  python_packages:\n    - numpy\n",
        )
        problems = problems_of(write_project(tmp_path, yaml, **{"r.txt": "numpy\n"}))
        assert problems == [
            "3:3: only one of python_packages or python_requirements can be set"
            " | remove one of the two"
        ]

    def test_missing_requirements_file(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", "build:\n  python_requirements: reqs.txt\n")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "2:24: python_requirements names 'reqs.txt', which does not exist"
        ]

    def test_concurrency_rules(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace('"3.11"', '"3.10"') + "concurrency:\n  max: 4\n"
        assert problems_of(write_project(tmp_path, yaml)) == [
            "5:8: concurrency.max above 1 needs Python 3.11 or newer"
            " | raise build.python_version to 3.11"
        ]

    def test_environment_rules(self, tmp_path: Path) -> None:
        yaml = MINIMAL + "environment:\n  - A=1\n  - A=2\n  - PATH=/x\n  - not-an-item\n"
        assert problems_of(write_project(tmp_path, yaml)) == [
            "6:5: environment variable A is already defined",
            "7:5: environment variable PATH is reserved for Cog",
            "8:5: environment item 'not-an-item' is not NAME=value",
        ]


class TestPredictorReference:
    def test_missing_file(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("predict.py:", "missing.py:")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "3:10: 'predict' names missing.py, which does not exist"
        ]

    def test_missing_name_lists_what_is_there(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace(":Predictor", ":Model")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "3:10: predict.py defines no 'Model' | top-level names there: BasePredictor, Predictor"
        ]

    def test_syntax_error_points_into_the_python_file(self, tmp_path: Path) -> None:
        write_project(tmp_path, MINIMAL)
        (tmp_path / "predict.py").write_text("class Predictor(:\n    pass\n")
        with pytest.raises(ConfigError) as raised:
            load_project(tmp_path)
        [problem] = raised.value.problems
        assert problem.location.path == tmp_path / "predict.py"
        assert (problem.location.line, problem.message) == (1, "invalid Python: invalid syntax")

    def test_bad_reference_form(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace('"predict.py:Predictor"', '"predict:Predictor"')
        assert problems_of(write_project(tmp_path, yaml)) == [
            "3:10: 'predict' must be in the form 'file.py:Name', got 'predict:Predictor'"
        ]


class TestWarnings:
    def test_removed_and_deprecated_keys_warn(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace(
            "build:\n", "build:\n  fast: true\n  pre_install:\n    - mkdir /x\n"
        )
        project = load_project(write_project(tmp_path, yaml))
        assert [(w.location.line, w.message) for w in project.warnings] == [
            (2, "'build.fast' has no effect: fast push was removed in Cog 0.17"),
            (3, "'build.pre_install' is deprecated in Cog"),
        ]


class TestCognixToml:
    def test_unknown_key_is_located(self, tmp_path: Path) -> None:
        write_project(tmp_path, MINIMAL, **{"cognix.toml": "[image]\nmax_layers = 3\n"})
        assert problems_of(tmp_path) == [
            "2:1: unknown key 'image.max_layers' | see `cognix.toml` in the README"
        ]

    def test_syntax_error_is_located(self, tmp_path: Path) -> None:
        write_project(tmp_path, MINIMAL, **{"cognix.toml": "[python]\ntorch-source = \n"})
        [problem] = problems_of(tmp_path)
        assert problem.startswith("2:16: invalid TOML: ")

    def test_valid_settings(self, tmp_path: Path) -> None:
        toml = '[python]\ntorch-source = "pypi"\n[image]\nmax-layers = 80\n[run.1]\nskip = true\n'
        yaml = MINIMAL.replace("build:\n", "build:\n  run:\n    - mkdir /x\n")
        project = load_project(write_project(tmp_path, yaml, **{"cognix.toml": toml}))
        assert project.settings.python.torch_source == "pypi"
        assert project.settings.image.max_layers == 80
        assert project.settings.run["1"].skip is True


class TestRegressions:
    """Crashes and misplaced errors found by test_check_fuzz.py and the corpus."""

    def test_control_character_is_located_on_one_line(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace('"3.11"', '"3.1\x071"')
        assert problems_of(write_project(tmp_path, yaml)) == [
            "2:23: invalid YAML: the character U+0007 is not allowed | delete it"
        ]

    def test_control_character_location_counts_crlf_and_cr_as_one_break(
        self, tmp_path: Path
    ) -> None:
        yaml = MINIMAL.replace("\n", "\r\n").replace("predict:", "\rpre\x00dict:")
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:4: invalid YAML: the character U+0000 is not allowed | delete it"
        ]

    def test_key_missing_its_colon_is_reported_where_it_starts(self, tmp_path: Path) -> None:
        # A list item without '- ' (corpus 007); PyYAML notices at the next key, lines below.
        yaml = MINIMAL.replace(
            "predict:", '  python_packages:\n    - "a"\n    "b"\n\n# note\npredict:'
        )
        assert problems_of(write_project(tmp_path, yaml)) == [
            "5:5: invalid YAML: could not find expected ':' (while scanning a simple key)"
            " | check the indentation and quote values that contain ': ' or start with a symbol"
        ]

    def test_alias_inside_its_own_anchor_is_refused(self, tmp_path: Path) -> None:
        yaml = MINIMAL + "weights: &w\n  - a\n  - *w\n"
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:10: this anchored value contains an alias to itself | write the values out instead"
        ]

    def test_shared_alias_is_still_read(self, tmp_path: Path) -> None:
        yaml = MINIMAL + "environment: &env\n  - A=1\nweights:\n  first: *env\n  second: *env\n"
        project = load_project(write_project(tmp_path, yaml))
        assert project.config.environment == ["A=1"]
        assert project.config.weights == {"first": ["A=1"], "second": ["A=1"]}

    def test_deep_nesting_is_refused_where_it_passes_the_limit(self, tmp_path: Path) -> None:
        yaml = MINIMAL + "weights: " + "[" * 300 + "]" * 300 + "\n"
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:73: values are nested more than 64 levels deep"
        ]

    def test_nesting_beyond_the_yaml_parser_is_refused(self, tmp_path: Path) -> None:
        # PyYAML itself runs out of Python's recursion limit before cognix's check.
        yaml = MINIMAL + "weights: " + "[" * 1000 + "\n"
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:73: values are nested more than 64 levels deep"
        ]

    def test_mistake_inside_a_run_mapping_is_reported_once(self, tmp_path: Path) -> None:
        # It was also reported as "Input should be a valid string", from the text form.
        yaml = MINIMAL.replace(
            "build:\n", "build:\n  run:\n    - command: mkdir /a\n      mount: []\n"
        )
        assert problems_of(write_project(tmp_path, yaml)) == [
            "4:7: unknown key 'mount' in 'build.run' | did you mean 'mounts'?"
        ]

    def test_run_items_in_both_forms_are_read(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace(
            "build:\n", "build:\n  run:\n    - mkdir /a\n    - command: mkdir /b\n    - [x]\n"
        )
        assert problems_of(write_project(tmp_path, yaml)) == [
            "5:7: an item of 'build.run': expected text, got a list"
        ]
        without_list = yaml.replace("    - [x]\n", "")
        project = load_project(write_project(tmp_path, without_list))
        assert [step.argv for step in project.run_plan.shell_steps] == [
            ("mkdir", "/a"), ("mkdir", "/b"),
        ]  # fmt: skip

    def test_aliases_that_expand_without_bound_are_refused(self, tmp_path: Path) -> None:
        lines = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
        assert problems_of(write_project(tmp_path, "\n".join(lines) + "\n")) == [
            "1:1: this file holds more than 100000 values, aliases expanded | write the values out"
        ]

    def test_leading_zero_integer_is_decimal_as_in_yaml_12(self, tmp_path: Path) -> None:
        yaml = MINIMAL + "concurrency:\n  max: 012\n"
        project = load_project(write_project(tmp_path, yaml))
        assert project.config.concurrency is not None
        assert project.config.concurrency.max == 12

    def test_a_problem_stays_on_one_line(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", 'build:\n  gpu: "no\\nway"\n')
        with pytest.raises(ConfigError) as raised:
            load_project(write_project(tmp_path, yaml))
        [problem] = raised.value.problems
        assert "\n" not in str(problem)
        assert str(problem).endswith("2:8: 'build.gpu': expected true or false, got 'no\\nway'")


class TestInputsDigest:
    def test_digest_covers_the_bytes_that_were_parsed(self, tmp_path: Path) -> None:
        yaml = MINIMAL.replace("build:\n", "build:\n  python_requirements: r.txt\n")
        write_project(tmp_path, yaml, **{"r.txt": "six\n", ".dockerignore": "*.ckpt\n"})
        before = load_project(tmp_path)

        (tmp_path / "r.txt").write_text("attrs\n")
        after = load_project(tmp_path)

        assert [line.text for line in before.requirements.requirements] == ["six"]
        assert [(path.name, data) for path, data in before.inputs][1:] == [
            ("r.txt", b"six\n"),
            (".dockerignore", b"*.ckpt\n"),
        ]
        assert before.inputs_digest() != after.inputs_digest()


class TestRunReplacements:
    RUN = "  run:\n    - git clone https://x.example/r.git /r\n    - mkdir /m\n"

    def project(self, root: Path, toml: str) -> Path:
        yaml = MINIMAL.replace("build:\n", "build:\n" + self.RUN)
        return write_project(root, yaml, **{"cognix.toml": toml})

    def test_skip_replaces_a_refused_command(self, tmp_path: Path) -> None:
        plan = load_project(self.project(tmp_path, "[run.1]\nskip = true\n")).run_plan
        assert [reason for _, reason in plan.dropped] == [
            "is skipped, as cognix.toml [run.1] says"
        ]
        assert [step.argv for step in plan.shell_steps] == [("mkdir", "/m")]

    def test_download_with_its_hash_replaces_the_item(self, tmp_path: Path) -> None:
        toml = (
            '[run.1]\ndownload = { url = "https://x.example/w.bin", sha256 = "'
            + "a" * 64
            + '", dest = "/w.bin" }\n'
        )
        [download] = load_project(self.project(tmp_path, toml)).run_plan.downloads
        assert (download.url, download.dest, download.sha256) == (
            "https://x.example/w.bin", "/w.bin", "a" * 64,
        )  # fmt: skip

    def test_nixpkgs_attributes_replace_the_item(self, tmp_path: Path) -> None:
        toml = '[run.1]\nnixpkgs = ["git-lfs"]\n'
        plan = load_project(self.project(tmp_path, toml)).run_plan
        assert [attribute for _, attribute in plan.nixpkgs] == ["git-lfs"]

    def test_replacement_must_name_an_item_and_one_thing(self, tmp_path: Path) -> None:
        toml = '[run.9]\nskip = true\n[run.2]\nskip = true\nnixpkgs = ["x"]\n'
        assert problems_of(self.project(tmp_path, toml)) == [
            "1:1: [run.2] must say exactly one of download, nixpkgs or skip",
            "1:1: [run.9] replaces run item 9, but cog.yaml has 2"
            " | run items count from 1, pre_install last",
        ]


class TestMergeKeys:
    def test_merged_mapping_supplies_keys(self, tmp_path: Path) -> None:
        yaml = (
            'build:\n  <<: {python_version: "3.11", gpu: true}\npredict: "predict.py:Predictor"\n'
        )
        build = load_project(write_project(tmp_path, yaml)).config.build
        assert (build.python_version, build.gpu) == ("3.11", True)

    def test_explicit_keys_win_over_merged_ones(self, tmp_path: Path) -> None:
        yaml = (
            'build:\n  <<: {python_version: "3.10"}\n  python_version: "3.11"\n'
            'predict: "predict.py:Predictor"\n'
        )
        assert load_project(write_project(tmp_path, yaml)).config.build.python_version == "3.11"

    def test_merging_a_scalar_is_located(self, tmp_path: Path) -> None:
        yaml = 'build:\n  <<: 5\n  python_version: "3.11"\npredict: "predict.py:Predictor"\n'
        [problem] = problems_of(write_project(tmp_path, yaml))
        assert problem.startswith("2:7: invalid YAML: expected a mapping or list of mappings")

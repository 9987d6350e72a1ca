"""Hostile files in an experiment folder: YAML alias bombs, tags, deep nesting. Each is a FormatError naming the
file, nothing is overwritten, and the limits are those of docs/format.md ("What readers accept")."""

import json
import tracemalloc
import unittest

import helpers
from specweave_ml import FormatError, read_experiment, track_experiment
from specweave_ml._jsonfmt import MAX_NESTING_DEPTH, JsonLimitError, dumps_canonical, loads_lenient
from specweave_ml._project import read_increment_metadata
from specweave_ml._yaml import YamlError, emit_metadata, parse_yaml

# 9 levels of 9 aliases: about 400 bytes that stand for 9^9 (387 million) strings when expanded.
ALIAS_BOMB = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    "%s: &%s [%s]\n" % (c, c, ",".join(["*" + p] * 9)) for p, c in zip("abcdefgh", "bcdefghi"))


def nested_json(levels: int) -> str:
    return '{"lr": ' + "[" * levels + "]" * levels + "}"


def nested_yaml_block(levels: int) -> str:
    """``levels`` nested block mappings: ``k:`` lines, each indented two more, ending in ``v: 1``."""
    return "".join("  " * i + "k:\n" for i in range(levels - 1)) + "  " * (levels - 1) + "v: 1\n"


class YamlReaderLimits(unittest.TestCase):
    def test_alias_bomb_is_refused_at_its_first_anchor(self):
        self.assertLess(len(ALIAS_BOMB), 400)
        with self.assertRaises(YamlError) as cm:
            parse_yaml(ALIAS_BOMB)
        self.assertEqual(cm.exception.line, 1)
        self.assertIn("anchor (&a)", str(cm.exception))
        self.assertIn("never writes", str(cm.exception))

    def test_each_anchor_alias_and_tag_is_named(self):
        cases = {
            'a: "x"\nb: *ref\n': (2, "alias (*ref)"),
            "a:\n  - &item 1\n": (2, "anchor (&item)"),
            "a: !!python/object:os.system x\n": (1, "tag (!!python/object:os.system)"),
            "a: [1, !!binary aGk=]\n": (1, "tag (!!binary)"),
            "a: {k: *v}\n": (1, "alias (*v)"),
            "--- !custom\na: 1\n": (None, "tag (!custom)"),
            "!key k: 1\n": (1, "tag (!key)"),
        }
        for text, (line, words) in cases.items():
            with self.assertRaises(YamlError, msg=repr(text)) as cm:
                parse_yaml(text)
            self.assertIn(words, str(cm.exception), repr(text))
            if line is not None:
                self.assertEqual(cm.exception.line, line, repr(text))

    def test_ampersands_stars_and_bangs_inside_values_are_text(self):
        text = 'url: http://x/?a=1&b=2\nglob: "*.csv"\nshout: hi!\nexpr: a*b\n'
        self.assertEqual(parse_yaml(text), {"url": "http://x/?a=1&b=2", "glob": "*.csv", "shout": "hi!", "expr": "a*b"})

    def test_nesting_is_capped_at_the_documented_depth(self):
        # a mapping holding N-1 nested flow sequences is N levels
        ok = "a: " + "[" * (MAX_NESTING_DEPTH - 1) + "]" * (MAX_NESTING_DEPTH - 1) + "\n"
        value = parse_yaml(ok)["a"]
        for _ in range(MAX_NESTING_DEPTH - 2):
            value = value[0]
        self.assertEqual(value, [])
        for text in ["a: " + "[" * MAX_NESTING_DEPTH + "]" * MAX_NESTING_DEPTH + "\n",
                     "a: " + "[" * 100000 + "]" * 100000 + "\n",
                     "a: " + "{k: " * 5000 + "1" + "}" * 5000 + "\n",
                     nested_yaml_block(MAX_NESTING_DEPTH + 1),
                     "".join("  " * i + "-\n" for i in range(200)) + "  " * 200 + "- x\n"]:
            with self.assertRaises(YamlError, msg=text[:40]) as cm:
                parse_yaml(text)
            self.assertIn("more than %d levels deep" % MAX_NESTING_DEPTH, str(cm.exception))
        self.assertIsInstance(parse_yaml(nested_yaml_block(MAX_NESTING_DEPTH)), dict)


class JsonReaderLimits(unittest.TestCase):
    def test_deep_nesting_is_a_value_error_not_a_recursion_error(self):
        for text in ["[" * 100000 + "]" * 100000, nested_json(MAX_NESTING_DEPTH), nested_json(900)]:
            with self.assertRaises(JsonLimitError) as cm:
                loads_lenient(text)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertIn("more than %d levels deep" % MAX_NESTING_DEPTH, str(cm.exception))

    def test_depth_up_to_the_cap_is_read(self):
        value = loads_lenient(nested_json(MAX_NESTING_DEPTH - 1))["lr"]  # the object is the 1st level
        for _ in range(MAX_NESTING_DEPTH - 2):
            self.assertEqual(len(value), 1)
            value = value[0]
        self.assertEqual(value, [])

    def test_many_brackets_side_by_side_are_not_depth(self):
        wide = json.dumps({"folds": [[i] for i in range(1000)], "grid": [{"a": [1]} for _ in range(100)]})
        self.assertEqual(len(loads_lenient(wide)["folds"]), 1000)


def nested_list(levels: int):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value


class WritersRefuseWhatReadersRefuse(unittest.TestCase):
    def test_canonical_json_and_metadata_yaml_stop_at_the_cap(self):
        self.assertEqual(loads_lenient(dumps_canonical({"a": nested_list(MAX_NESTING_DEPTH - 1)})),
                         {"a": nested_list(MAX_NESTING_DEPTH - 1)})
        for levels in (MAX_NESTING_DEPTH, 5000):
            with self.assertRaises(JsonLimitError) as cm:
                dumps_canonical({"a": nested_list(levels)})
            self.assertIn("refused to write a JSON file nesting more than 64 levels deep", str(cm.exception))
            with self.assertRaises(JsonLimitError) as cm:
                emit_metadata({"name": "x", "extra": nested_list(levels)})
            self.assertIn("refused to write a metadata.yaml", str(cm.exception))
        self.assertEqual(parse_yaml(emit_metadata({"extra": nested_list(MAX_NESTING_DEPTH - 1)}))["extra"],
                         nested_list(MAX_NESTING_DEPTH - 1))


class ClientRefusesHostileFiles(helpers.ProjectTestCase):
    def make_experiment(self, name="rf"):
        with track_experiment(name, params={"lr": 0.1}) as exp:
            exp.log_metric("acc", 0.9)
        return self.exp_dir(name)

    def assert_refused(self, call, path, words):
        before = path.read_bytes()
        with self.assertRaises(FormatError) as cm:
            call()
        self.assertIn(str(path), str(cm.exception))
        self.assertIn(words, str(cm.exception))
        self.assertEqual(path.read_bytes(), before, "the hostile file must not be overwritten")

    def test_alias_bomb_in_metadata_yaml(self):
        path = self.make_experiment() / "metadata.yaml"
        path.write_text(ALIAS_BOMB, encoding="utf-8")
        tracemalloc.start()
        try:
            self.assert_refused(lambda: read_experiment("rf"), path, "anchor (&a)")
            self.assert_refused(lambda: track_experiment("rf").start(), path, "anchor (&a)")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 50 * 1024 * 1024, "refusing the bomb must not expand it")

    def test_python_object_tag_in_metadata_yaml(self):
        path = self.make_experiment() / "metadata.yaml"
        path.write_text('name: "rf"\nstatus: !!python/object/apply:os.system ["echo pwned"]\n', encoding="utf-8")
        self.assert_refused(lambda: read_experiment("rf"), path, "tag (!!python/object/apply:os.system)")

    def test_deep_json_in_params_and_metrics(self):
        exp = self.make_experiment()
        for name in ("params.json", "metrics.json"):
            path = exp / name
            good = path.read_bytes()
            path.write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
            self.assert_refused(lambda: read_experiment("rf"), path, "levels deep")
            with track_experiment("rf") as run:
                with self.assertRaises(FormatError) as cm:
                    (run.log_params if name == "params.json" else run.log_metrics)({"x": 1})
            self.assertIn(str(path), str(cm.exception))
            self.assertEqual(path.read_text(encoding="utf-8"), "[" * 100000 + "]" * 100000)
            path.write_bytes(good)

    def test_log_params_never_writes_what_its_readers_refuse(self):
        # json_safe turns what lies deeper than 50 levels into a short placeholder, so params.json stays under the
        # cap; 10,000 levels would overflow Python's stack in repr()
        self.make_experiment()
        with track_experiment("rf") as run:
            run.log_params({"grid": nested_list(10000)})
        grid = read_experiment("rf")["params"]["grid"]
        levels = 1
        while isinstance(grid, list):
            grid, levels = grid[0], levels + 1
        self.assertIsInstance(grid, str)
        self.assertLessEqual(levels, MAX_NESTING_DEPTH)

    def test_deep_increment_metadata_json_reads_as_unreadable(self):
        (self.inc / "metadata.json").write_text(nested_json(5000), encoding="utf-8")
        self.assertIsNone(read_increment_metadata(self.inc))


if __name__ == "__main__":
    unittest.main()

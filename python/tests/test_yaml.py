import math
import unittest

import helpers  # noqa: F401
from specweave_ml._yaml import YamlError, emit_metadata, parse_yaml

EXPECTED = '''name: "random-forest"
status: "completed"
baseline: false
tags:
  - "candidate"
  - "a \\"quoted\\" tag"
notes:
  - time: "2026-11-26T10:01:00.000Z"
    text: "max_depth 8 overfits;\\n6 is the sweet spot \\u2028\\u0085\\u007f\\ufeff\\t é"
created: "2026-11-26T10:00:00.000Z"
started: "2026-11-26T10:00:00.000Z"
ended: "2026-11-26T10:02:30.000Z"
duration_seconds: 150
updated: "2026-11-26T10:02:30.000Z"
git:
  branch: "main"
  commit: "3f2c1e0d9b"
  dirty: false
environment:
  platform: "linux-x64"
  python: "3.11.7"
  "scikit-learn": "1.2.1"
artifacts:
  - path: "model.pkl"
    bytes: 183211
    sha256: "9e1f"
source:
  tool: "python"
custom:
  empty_list: []
  empty_map: {}
  nested:
    -
      - 1
      - 0.5
    - k: null
  value: "NaN"
'''


class EmitTest(unittest.TestCase):
    def meta(self):
        return {
            "source": {"tool": "python"}, "name": "random-forest", "status": "completed", "baseline": False,
            "tags": ["candidate", 'a "quoted" tag'],
            "notes": [{"text": "max_depth 8 overfits;\n6 is the sweet spot \u2028\u0085\u007f\ufeff\t é",
                       "time": "2026-11-26T10:01:00.000Z"}],
            "created": "2026-11-26T10:00:00.000Z", "started": "2026-11-26T10:00:00.000Z",
            "ended": "2026-11-26T10:02:30.000Z", "duration_seconds": 150.0, "updated": "2026-11-26T10:02:30.000Z",
            "git": {"commit": "3f2c1e0d9b", "branch": "main", "dirty": False},
            "environment": {"python": "3.11.7", "scikit-learn": "1.2.1", "platform": "linux-x64"},
            "artifacts": [{"sha256": "9e1f", "bytes": 183211, "path": "model.pkl"}],
            "custom": {"value": math.nan, "nested": [[1, 0.5], {"k": None}], "empty_map": {}, "empty_list": []},
        }

    def test_exact_style(self):
        self.assertEqual(emit_metadata(self.meta()), EXPECTED)

    def test_round_trip(self):
        back = parse_yaml(EXPECTED)
        expected = self.meta()
        expected["custom"]["value"] = "NaN"
        expected["duration_seconds"] = 150
        self.assertEqual(back, expected)


class ReadHandEditsTest(unittest.TestCase):
    def test_hand_edited_file(self):
        text = """\ufeff# edited by hand\r
---
name: random-forest   # a comment
status: 'completed'
baseline: true
tags:
- candidate
- "two"  # quoted
- 'it''s'
notes:
  - time: 2026-11-26T10:01:00Z
    text: |
      line one
      line two
  - {time: x, text: "y, z"}
  - text: >-
      folded
      text
created: "a long
  quoted string"
started: plain
  continued
ended: ~
duration_seconds: 1.5e3
git: null
environment: {numpy: 1.26.4, flag: no}
artifacts: []
source:
  tool: mcp
  run_id: 0x1F
"quoted key": .inf
nan_value: .NaN
...
"""
        d = parse_yaml(text)
        self.assertEqual(d["name"], "random-forest")
        self.assertEqual(d["status"], "completed")
        self.assertIs(d["baseline"], True)
        self.assertEqual(d["tags"], ["candidate", "two", "it's"])
        self.assertEqual(d["notes"][0], {"time": "2026-11-26T10:01:00Z", "text": "line one\nline two\n"})
        self.assertEqual(d["notes"][1], {"time": "x", "text": "y, z"})
        self.assertEqual(d["notes"][2], {"text": "folded text"})
        self.assertEqual(d["created"], "a long quoted string")
        self.assertEqual(d["started"], "plain continued")
        self.assertIsNone(d["ended"])
        self.assertEqual(d["duration_seconds"], 1500.0)
        self.assertIsNone(d["git"])
        self.assertEqual(d["environment"], {"numpy": "1.26.4", "flag": "no"})
        self.assertEqual(d["source"], {"tool": "mcp", "run_id": 31})
        self.assertEqual(d["quoted key"], math.inf)
        self.assertTrue(math.isnan(d["nan_value"]))

    def test_escapes(self):
        d = parse_yaml('a: "\\x41\\u00e9\\U0001F600\\N\\_\\/\\ud83d\\ude00"\nb: ""\nc: \'\'\n')
        self.assertEqual(d, {"a": "A\u00e9\U0001F600\x85\xa0/\U0001F600", "b": "", "c": ""})

    def test_empty_document(self):
        self.assertIsNone(parse_yaml(""))
        self.assertIsNone(parse_yaml("# only a comment\n"))

    def test_refuses_what_it_cannot_read(self):
        bad = {
            "a: &x 1\nb: *x\n": "anchors",
            "a: !!str 1\n": "tags",
            "a: 1\na: 2\n": "duplicate",
            "a: 1\n---\nb: 2\n": "more than one",
            "a:\n\t- x\n": "tab",
            "a: [1, 2\n": "unterminated",
            "? x\n: y\n": "complex",
            "a: 1\n  b: 2\n": "key: value",
            "a: \"open\n": "unterminated",
            "- a\nb: 1\n": "unexpected",
        }
        for text, words in bad.items():
            with self.assertRaises(YamlError, msg=repr(text)) as cm:
                parse_yaml(text)
            self.assertIn(words, str(cm.exception), repr(text))
            self.assertIn("line", str(cm.exception))


if __name__ == "__main__":
    unittest.main()

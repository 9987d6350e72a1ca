import math
import unittest

import helpers  # noqa: F401
from specweave_ml._jsonfmt import dumps_canonical, dumps_line, format_number, loads_lenient


class NumberFormatTest(unittest.TestCase):
    def test_like_javascript(self):
        cases = {1.0: "1", 150.0: "150", 0.1: "0.1", 1e-05: "0.00001", 1e-06: "0.000001", 1e-07: "1e-7",
                 1.5e-07: "1.5e-7", 1e21: "1e+21", 1.2345e22: "1.2345e+22", 1e20: "100000000000000000000",
                 -0.0: "0", -3.25: "-3.25", 0.4127: "0.4127", 5e-324: "5e-324",
                 1.7976931348623157e308: "1.7976931348623157e+308", 12: "12"}
        for value, text in cases.items():
            self.assertEqual(format_number(value), text, value)


class CanonicalJsonTest(unittest.TestCase):
    def test_sorted_indented_non_finite_as_strings(self):
        data = {"b": [1, 2.0, {"z": None, "a": True}], "a": {}, "é": "ü\n\u2028", "c": [], "n": math.nan,
                "i": -math.inf}
        self.assertEqual(dumps_canonical(data), (
            '{\n'
            '  "a": {},\n'
            '  "b": [\n'
            '    1,\n'
            '    2,\n'
            '    {\n'
            '      "a": true,\n'
            '      "z": null\n'
            '    }\n'
            '  ],\n'
            '  "c": [],\n'
            '  "i": "-Infinity",\n'
            '  "n": "NaN",\n'
            '  "\u00e9": "\u00fc\\n\u2028"\n'
            '}\n'))

    def test_history_line(self):
        self.assertEqual(dumps_line([("metric", "val_loss"), ("value", math.inf), ("step", 3), ("timestamp", "t")]),
                         '{"metric":"val_loss","value":"Infinity","step":3,"timestamp":"t"}')

    def test_lenient_reading(self):
        text = '\ufeff{\r\n  "a": NaN,\r\n  "b": Infinity, "c": -Infinity, "d": "NaN"\r\n}\r\n'
        data = loads_lenient(text.encode("utf-8"))
        self.assertTrue(math.isnan(data["a"]))
        self.assertEqual(data["b"], math.inf)
        self.assertEqual(data["c"], -math.inf)
        self.assertEqual(data["d"], "NaN")


if __name__ == "__main__":
    unittest.main()

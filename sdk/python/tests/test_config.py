"""Config: the YAML subset fsb-ctl writes, and resolution as fsb-ctl does it (no server)."""

import unittest

from fast_sandbox._yaml_subset import YamlSubsetError, parse
from fast_sandbox.config import DEFAULT_ENDPOINT, ConfigEnvironment, ConfigError, resolve_config

LOCAL = "/work/proj/.fsb/config.yaml"
HOME = "/home/u/.fsb/config.yaml"

#: As `npm start` writes it (packages/server/src/standalone/standalone-cli-config.ts through the
#: `yaml` package), with a comment a user added.
STANDALONE = """# Written by `npm start` for the standalone system: it updates only the standalone context.
current-context: standalone
contexts:
  standalone:
    endpoint: http://127.0.0.1:9090
    tokenFile: /repo/.fsb-dev/api-token # the token npm start made
    namespace: default
  cluster: {}
"""


def environment(files, env=None):
    return ConfigEnvironment(env or {}, "/work/proj", "/home/u", files.get)


class YamlSubsetTest(unittest.TestCase):
    def test_reads_what_npm_start_and_fsb_ctl_write(self):
        self.assertEqual(
            parse(STANDALONE),
            {
                "current-context": "standalone",
                "contexts": {
                    "standalone": {
                        "endpoint": "http://127.0.0.1:9090",
                        "tokenFile": "/repo/.fsb-dev/api-token",
                        "namespace": "default",
                    },
                    "cluster": {},
                },
            },
        )

    def test_reads_quoted_scalars_flow_mappings_nulls_and_comments(self):
        cases = {
            "double quotes with escapes": ('t: "a\\"b\\\\c\\u00e9 # not a comment"', {"t": 'a"b\\cé # not a comment'}),
            "single quotes": ("t: 'it''s #1'", {"t": "it's #1"}),
            "a quoted key": ('"a b": c', {"a b": "c"}),
            "a flow mapping": ("c: {endpoint: http://h:1, token: 'x,y'}", {"c": {"endpoint": "http://h:1", "token": "x,y"}}),
            "nulls": ("a:\nb: ~\nc: null", {"a": None, "b": None, "c": None}),
            "a hash inside a plain value": ("t: a#b", {"t": "a#b"}),
            "an empty file": ("# nothing\n\n", None),
            "deeper indentation": ("a:\n    b:\n        c: d\n    e: f\ng: h", {"a": {"b": {"c": "d"}, "e": "f"}, "g": "h"}),
        }
        for name, (text, want) in cases.items():
            with self.subTest(name):
                self.assertEqual(parse(text), want)

    def test_refuses_yaml_it_does_not_read_naming_the_line(self):
        cases = {
            "a list": ("contexts:\n  - a\n", "line 2"),
            "a flow list": ("contexts: [1, 2]\n", "line 1"),
            "an anchor": ("a: &x b\n", "line 1"),
            "a tag": ("a: !!str b\n", "line 1"),
            "a block scalar": ("a: |\n  b\n", "line 1"),
            "a document marker": ("---\na: b\n", "line 1"),
            "a tab": ("a:\n\tb: c\n", "line 2"),
            "bad indentation": ("a:\n    b: c\n  d: e\n", "line 3"),
            "a duplicate key": ("a: b\na: c\n", "line 2"),
            "an unclosed quote": ('a: "b\n', "line 1"),
            "a nested flow mapping": ("a: {b: {c: d}}\n", "line 1"),
            "no colon": ("just text\n", "line 1"),
        }
        for name, (text, line) in cases.items():
            with self.subTest(name), self.assertRaises(YamlSubsetError) as caught:
                parse(text)
            self.assertIn(line, str(caught.exception))


class ResolveConfigTest(unittest.TestCase):
    def test_defaults_to_the_standalone_endpoint_and_namespace(self):
        c = resolve_config(environment=environment({}))
        self.assertEqual((c.endpoint, c.namespace, c.token, c.files), (DEFAULT_ENDPOINT, "default", None, []))

    def test_reads_the_current_context_with_the_token_from_its_token_file(self):
        files = {LOCAL: STANDALONE, "/repo/.fsb-dev/api-token": "s3cret\n"}
        c = resolve_config(environment=environment(files))
        self.assertEqual((c.endpoint, c.token, c.context, c.files), ("http://127.0.0.1:9090", "s3cret", "standalone", [LOCAL]))

    def test_takes_each_setting_from_the_nearest_place_that_has_it(self):
        files = {
            LOCAL: "current-context: c\ncontexts:\n  c:\n    namespace: team-a\n",
            HOME: "contexts:\n  c:\n    endpoint: http://cluster:9090\n    token: home-token\n",
        }
        c = resolve_config(environment=environment(files, {"FSB_TOKEN": "env-token"}))
        self.assertEqual((c.endpoint, c.namespace, c.token), ("http://cluster:9090", "team-a", "env-token"))
        self.assertEqual(resolve_config(token="arg", environment=environment(files, {"FSB_TOKEN": "e"})).token, "arg")
        self.assertEqual(
            c.sources,
            {"endpoint": f"context c in {HOME}", "token": "env FSB_TOKEN", "namespace": f"context c in {LOCAL}",
             "context": f"current-context in {LOCAL}"},
        )

    def test_switches_context_by_argument_or_fsb_context(self):
        files = {HOME: "current-context: a\ncontexts:\n  a:\n    endpoint: http://a:1\n  b:\n    endpoint: http://b:2\n"}
        self.assertEqual(resolve_config(environment=environment(files)).endpoint, "http://a:1")
        self.assertEqual(resolve_config(context="b", environment=environment(files)).endpoint, "http://b:2")
        self.assertEqual(resolve_config(environment=environment(files, {"FSB_CONTEXT": "b"})).endpoint, "http://b:2")

    def test_names_an_unknown_context_and_a_file_it_cannot_read(self):
        with self.assertRaisesRegex(ConfigError, r'no context "zz" in /home/u/\.fsb/config\.yaml'):
            resolve_config(context="zz", environment=environment({HOME: "contexts:\n  a: {}\n"}))
        with self.assertRaisesRegex(ConfigError, r"contexts must be a mapping"):
            resolve_config(environment=environment({LOCAL: "contexts: x\n"}))
        with self.assertRaisesRegex(ConfigError, r"/work/proj/\.fsb/config\.yaml is not in the YAML .*line 2"):
            resolve_config(environment=environment({LOCAL: "contexts:\n  - a\n"}))


if __name__ == "__main__":
    unittest.main()

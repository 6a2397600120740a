"""Tests of scripts/release-manifest on the artifact names each OS's bundler
writes (run by `scripts/test unit`)."""

import base64
import importlib.machinery
import importlib.util
import pathlib
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
_loader = importlib.machinery.SourceFileLoader("release_manifest", str(HERE / "release-manifest"))
_spec = importlib.util.spec_from_loader("release_manifest", _loader)
rm = importlib.util.module_from_spec(_spec)
_loader.exec_module(rm)


def sig(file_name: str, version: str) -> str:
    text = (
        "untrusted comment: signature from tauri secret key\nRUQ=\n"
        f"trusted comment: timestamp:1\tfile:{file_name}\tversion:{version}\nAA==\n"
    )
    return base64.b64encode(text.encode()).decode()


class ReleaseManifest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def put(self, name, version="0.2.0", signed_name=None):
        (self.root / name).write_bytes(b"artifact")
        (self.root / f"{name}.sig").write_text(sig(signed_name or name, version))

    def test_every_bundle_gets_its_key_and_one_fallback_per_os(self):
        for name in [
            "RTCstack_0.2.0_amd64.deb",
            "RTCstack_0.2.0_amd64.AppImage",
            "RTCstack_0.2.0_x64-setup.exe",
            "RTCstack_0.2.0_x64_en-US.msi",
        ]:
            self.put(name)
        self.put("RTCstack_0.2.0_aarch64.app.tar.gz", signed_name="RTCstack.app.tar.gz")
        self.put("RTCstack_0.2.0_x86_64.app.tar.gz", signed_name="RTCstack.app.tar.gz")
        (self.root / "RTCstack_0.2.0_aarch64.dmg").write_bytes(b"not an update artifact")
        doc, problems = rm.manifest("0.2.0", "notes", "https://h/d/v0.2.0/", [self.root])
        self.assertEqual(problems, [])
        p = doc["platforms"]
        self.assertEqual(
            sorted(p),
            sorted([
                "linux-x86_64-deb", "linux-x86_64-appimage", "linux-x86_64",
                "windows-x86_64-nsis", "windows-x86_64-msi", "windows-x86_64",
                "darwin-aarch64-app", "darwin-aarch64", "darwin-x86_64-app", "darwin-x86_64",
            ]),
        )
        self.assertEqual(p["linux-x86_64"], p["linux-x86_64-appimage"])
        self.assertEqual(p["windows-x86_64"], p["windows-x86_64-nsis"])
        self.assertEqual(p["linux-x86_64-deb"]["url"], "https://h/d/v0.2.0/RTCstack_0.2.0_amd64.deb")
        self.assertEqual(p["linux-x86_64-deb"]["signature"], sig("RTCstack_0.2.0_amd64.deb", "0.2.0"))
        self.assertEqual(doc["version"], "0.2.0")
        self.assertEqual(doc["notes"], "notes")

    def test_refuses_an_artifact_signed_for_another_version(self):
        self.put("RTCstack_0.2.0_amd64.deb")
        self.put("RTCstack_0.1.0_amd64.AppImage", version="0.1.0")
        _, problems = rm.manifest("0.2.0", "", "https://h", [self.root])
        self.assertEqual(len(problems), 1)
        self.assertIn("signed for version 0.1.0", problems[0])

    def test_refuses_unknown_files_missing_artifacts_and_nothing_at_all(self):
        (self.root / "stray.txt.sig").write_text(sig("stray.txt", "0.2.0"))
        (self.root / "stray.txt").write_text("x")
        (self.root / "RTCstack_0.2.0_amd64.deb.sig").write_text(sig("x", "0.2.0"))
        _, problems = rm.manifest("0.2.0", "", "https://h", [self.root])
        self.assertTrue(any("not an update artifact" in p for p in problems))
        self.assertTrue(any("no artifact" in p for p in problems))
        self.assertTrue(any("no signed update artifacts" in p for p in problems))

    def test_unreadable_signature_has_no_version(self):
        self.assertIsNone(rm.signed_version("%%% not base64"))
        self.assertIsNone(rm.signed_version(base64.b64encode(b"\xff\xfe").decode()))
        self.assertEqual(rm.signed_version(sig("a", "1.2.3")), "1.2.3")


if __name__ == "__main__":
    unittest.main()

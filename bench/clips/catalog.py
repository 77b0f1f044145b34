"""What the short-clip set is made of: the pinned archives and the chosen clips.

Data only; ``fetch_clips.py`` downloads, verifies and converts. Every reference
text is read from the archive named here (a prompt list, a transcript file, or a
test that asserts the phrase); none was typed in by listening. SOURCES.md says
where each license is stated.
"""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_POOL = "http://deb.debian.org/debian/pool/main/a/asterisk-core-sounds/"
DEBIAN_SNAPSHOT = ("https://snapshot.debian.org/archive/debian/20250520T000000Z/"
                   "pool/main/a/asterisk-core-sounds/")
PYPI_FILES = "https://files.pythonhosted.org/packages/"


@dataclass(frozen=True)
class Archive:
    """One registry download, pinned by name, version and sha256."""

    key: str
    registry: str  # "Debian" or "PyPI"
    package: str
    version: str
    filename: str
    urls: tuple[str, ...]
    sha256: str
    size: int
    license: str = ""  # license of the recordings inside (audio archives only)
    license_source: str = ""  # member of the archive that states it
    speaker: str = ""


@dataclass(frozen=True)
class TextRef:
    """Where a clip's reference text lives.

    kind: "prompt" (``name: text`` line of an Asterisk core-sounds list, gzip),
    "file" (the whole member), "sphinx" (``<s> text </s> (utt)`` line of a
    Sphinx .transcription file) or "quote" (``key`` must occur in the member).
    """

    kind: str
    archive: str
    member: str
    key: str = ""


@dataclass(frozen=True)
class Clip:
    id: str
    language: str
    archive: str
    member: str
    text: TextRef
    speaker: str = ""  # when it differs from the archive's
    note: str = ""


def _asterisk(lang: str, sha_text: str, size_text: int, sha_audio: str, size_audio: int,
              license: str, stanza: str, speaker: str) -> tuple[Archive, Archive]:
    version = "1.6.1-1"
    text_name = f"asterisk-core-sounds-{lang}_{version}_all.deb"
    audio_name = f"asterisk-core-sounds-{lang}-g722_{version}_all.deb"
    text = Archive(f"{lang}-text", "Debian", f"asterisk-core-sounds-{lang}", version, text_name,
                   (DEBIAN_POOL + text_name, DEBIAN_SNAPSHOT + text_name), sha_text, size_text)
    audio = Archive(f"{lang}-g722", "Debian", f"asterisk-core-sounds-{lang}-g722", version, audio_name,
                    (DEBIAN_POOL + audio_name, DEBIAN_SNAPSHOT + audio_name), sha_audio, size_audio,
                    license,
                    f"usr/share/doc/asterisk-core-sounds-{lang}-g722/copyright (stanza 'Files: {stanza}')",
                    speaker)
    return text, audio


ARCHIVES: dict[str, Archive] = {a.key: a for a in (
    *_asterisk("en", "973e797d28e37fa6ca3c0a9d6fa717e77cf1268ae916bf09fd3503113cdffa50", 22844,
               "38c5261820b406dcb0ecb37675720da2b0864850690690352ca52707eb623806", 10565860,
               "CC-BY-SA-3.0", "*", "Allison Smith (US English, female)"),
    *_asterisk("es", "9afdab7f559f036649fb406e625899306ca1004df8ebe39c30bfbd5912d66f74", 22012,
               "e4e3b4281057d3b81b779298fd6be705f57411513955c518eed1bcaabbd615b8", 13048380,
               "CC-BY-SA-3.0", "*", "Allison Smith (Mexican Spanish voice es_MX_f_Allison, female)"),
    *_asterisk("fr", "04c82c78c570c43a7136cbc5e2488d0c470b775468dff9fbce4a131b18cf1056", 23152,
               "7add61d5e42279ecff1bbdf842a5a946ac3644fac9a0fe44384731aa7270c8e0", 10822860,
               "CC-BY-SA-3.0", "fr-*", "June Wallack (Canadian French, female)"),
    *_asterisk("it", "3884d9457e12f21caa018c18f0d587df5d53ebea14b673d8453a134c5941ab3b", 23972,
               "46b4cf7afc508a5fcfc051b7ea233251c0d195dd4ef83cc4b7facb4c6429b016", 10087176,
               "CC-BY-3.0", "it-*", "Carlo Flora (Italian, male)"),
    *_asterisk("ru", "28a61616bb0cd3345a7ea532dec4df9f071e5d0fa9f8c1a563ea9669002f39ab", 25592,
               "673b4238a6b8269960f055d868c6a11083f7a0d00979167cb01554046b48ed9b", 10579440,
               "CC-BY-3.0", "ru-*", "IvrvoiceRU voice, provided by Maxim Topal (Russian, female)"),
    Archive("pocketsphinx", "PyPI", "pocketsphinx", "5.1.1", "pocketsphinx-5.1.1.tar.gz",
            (PYPI_FILES + "61/e7/13e0e787ff467218de880310d79cba14424f13b87171ac44af0bde1e428c/"
             "pocketsphinx-5.1.1.tar.gz",),
            "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355", 34158862,
            "BSD-2-Clause-style (Carnegie Mellon University)", "pocketsphinx-5.1.1/LICENSE",
            "not named in the package (CMU Sphinx test recording)"),
)}

# Asterisk prompts: 4-22 s, no digits (the lists write "1" where the voice says "one"),
# no bracketed stage directions, text with the language's accents where it needs them.
PROMPTS: dict[str, tuple[str, ...]] = {
    "en": ("demo-echotest", "tt-allbusy", "demo-nogo", "vm-newuser", "followme/status",
           "queue-youarenext"),
    "es": ("confbridge-only-participant", "confbridge-lock-no-join", "confbridge-pin-bad",
           "confbridge-pin", "confbridge-rest-list-vol-in", "queue-periodic-announce"),
    "fr": ("followme/status", "priv-introsaved", "ss-noservice", "vm-nobox", "tt-allbusy",
           "confbridge-mute-extended"),
    "it": ("tt-allbusy", "demo-nogo", "vm-newuser", "queue-periodic-announce", "vm-record-prepend",
           "confbridge-lock-extended"),
    "ru": ("tt-allbusy", "queue-periodic-announce", "vm-nobox", "vm-newuser", "queue-youarenext",
           "vm-record-prepend"),
}
VOICE_DIRS = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison", "fr": "fr_CA_f_June",
              "it": "it_IT_m_Carlo", "ru": "ru_RU_f_IvrvoiceRU"}


def _asterisk_clips() -> list[Clip]:
    clips = []
    for lang, names in PROMPTS.items():
        text_member = f"usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz"
        for name in names:
            clips.append(Clip(f"{lang}-asterisk-{name.replace('/', '-')}", lang, f"{lang}-g722",
                              f"usr/share/asterisk/sounds/{VOICE_DIRS[lang]}/{name}.g722",
                              TextRef("prompt", f"{lang}-text", text_member, name)))
    return clips


_PS = "pocketsphinx-5.1.1/"
_LIBRIVOX = _PS + "test/data/librivox/sense_and_sensibility_01_austen_64kb-"


def _pocketsphinx_clips() -> list[Clip]:
    clips = [Clip(f"en-librivox-{n}", "en", "pocketsphinx", f"{_LIBRIVOX}{n}.wav",
                  TextRef("file", "pocketsphinx", f"{_LIBRIVOX}{n}.txt"),
                  "LibriVox volunteer reading Sense and Sensibility ch. 1 (not named in the package)",
                  "LibriVox recording (LibriVox releases its recordings into the public domain); "
                  "transcript as in the package: lower case, verbatim")
             for n in ("0870", "0880", "0890", "0920", "0930")]
    clips.append(Clip("en-sphinx-goforward", "en", "pocketsphinx", _PS + "test/data/goforward.raw",
                      TextRef("quote", "pocketsphinx", _PS + "cython/test/decoder_test.py",
                              "go forward ten meters")))
    clips.append(Clip("en-sphinx-cards-005", "en", "pocketsphinx", _PS + "test/data/cards/005.wav",
                      TextRef("sphinx", "pocketsphinx", _PS + "test/data/cards/cards.transcription", "005")))
    return clips


CLIPS: tuple[Clip, ...] = (*_asterisk_clips(), *_pocketsphinx_clips())

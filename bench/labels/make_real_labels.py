#!/usr/bin/env python3
"""Builds labelled evaluation sets for `newsdedup eval` from the real corpora.

    python3 bench/labels/make_real_labels.py --data ../shared/data --out /tmp/labels

writes /tmp/labels/bbc-real.jsonl and /tmp/labels/reuters-refiles.jsonl (ids and
byte offsets only: no corpus text). See bench/labels/README.md for what the
labels mean, how they were checked and what they cannot see.

The oracle is independent of the tool's MinHash/LSH method: a paragraph repeats
an earlier one when their word lists are identical (3+ words), or when both
have 20+ words and difflib.SequenceMatcher on the word lists gives a ratio of
at least 0.8. Candidates come from an inverted index on the word 3-grams of
the judged paragraphs, probed with every paragraph of the corpus, so nothing
is compared all-pairs (--gram 2 --gram-cap 1000000000 --min-shared 1
--shared-fraction 0 makes the search exhaustive: a ratio >= 0.8 between
20+-word lists implies 7+ shared bigrams). What the tool calls a paragraph (the
segmenter of src/segment.cc, ported below), a word (letters, marks and numbers,
case-folded) and a repeated passage (10+ words at any boundary) is mirrored so
that labels and findings line up byte for byte.

Standard library only; zstd is run as a subprocess. Deterministic: a fixed
seed, and the script re-executes itself with PYTHONHASHSEED=0 so that the
hash-based sampling of the pre-pass does not vary between runs.
"""

import argparse
import bisect
import collections
import difflib
import json
import os
import random
import re
import subprocess
import sys
import time
import unicodedata

if os.environ.get("PYTHONHASHSEED") != "0":
    env = dict(os.environ, PYTHONHASHSEED="0")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

# ---------------------------------------------------------------------------
# Parameters (mirroring the tool's defaults where they define what is found).

MIN_EXACT_WORDS = 3     # ScanOptions::min_exact_tokens: shorter is never reported
MIN_TOKENS = 8          # ScanOptions::min_tokens: below it, exact matches only
NEAR_MIN_WORDS = 20     # the oracle's near rule needs 20+ words on both sides
NEAR_RATIO = 0.8        # difflib ratio on word lists
PASSAGE_WORDS = 10      # PassageOptions::min_tokens
HEADLINE_MIN_WORDS = 3  # ScanOptions::headline_min_words
HEADLINE_NEAR_MIN_WORDS = 6  # near titles: the longer has 6+ words ...
NEAR_TITLE_MIN_WORDS = 4     # ... the shorter 4+ (ratio 0.8 needs that)
# Near candidates: paragraphs sharing MIN_SHARED word GRAM_N-grams, counting
# only n-grams found in at most GRAM_CAP target paragraphs (0: chosen from the
# number of targets). --gram/--gram-cap/--min-shared change them (checks).
GRAM_N = 3
GRAM_CAP = 0
MIN_SHARED = 2
SHARED_FRACTION = 0.05  # ... and this fraction of the shorter one's words
COMMON_DOCS = 5         # ScanOptions::boilerplate_min_docs (learned boilerplate)

# ---------------------------------------------------------------------------
# Reading.


def read_records(path):
    """Yields the JSON records of a zstd JSONL file, in file order."""
    proc = subprocess.Popen(["zstd", "-dcq", path], stdout=subprocess.PIPE,
                            bufsize=1 << 20)
    try:
        for line in proc.stdout:
            if line.strip():
                yield json.loads(line)
    finally:
        proc.stdout.close()
        proc.wait()


# ---------------------------------------------------------------------------
# Segmentation: a port of src/segment.cc (SegmentParagraphs with default
# options) working on UTF-8 bytes, visiting only newlines and double spaces.

_UNICODE_SPACES = ("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                   "\u2008\u2009\u200a\u202f\u205f\u3000")
_BLANK_RE = re.compile(b"(?:[ \t\r\f\v]|" + b"|".join(
    re.escape(c.encode()) for c in _UNICODE_SPACES) + b")*")
_EVENTS_RE = re.compile(rb"\n| {2,}")
_ABBREVIATIONS = {b"Inc", b"Corp", b"Co", b"Ltd", b"Plc", b"PLC", b"Bhd",
                  b"LLC", b"Mr", b"Mrs", b"Ms", b"Dr", b"St", b"Jr", b"Sr",
                  b"No", b"Gov", b"Sen", b"Rep", b"Gen", b"vs"}


def _space_len_at(t, i, e):
    """Length of the whitespace character at t[i] (before e), or 0."""
    c = t[i]
    if c in b" \t\r\f\v\n":
        return 1
    if c == 0xC2 and i + 1 < e and t[i + 1] == 0xA0:
        return 2
    if i + 2 < e:
        c1, c2 = t[i + 1], t[i + 2]
        if c == 0xE2 and c1 == 0x80 and (0x80 <= c2 <= 0x8A or c2 == 0xAF):
            return 3
        if c == 0xE2 and c1 == 0x81 and c2 == 0x9F:
            return 3
        if c == 0xE3 and c1 == 0x80 and c2 == 0x80:
            return 3
    return 0


def rtrim(t, b, e):
    """e moved back past whitespace (ASCII, NBSP and the other Unicode
    spaces of src/internal/spaces.h), not below b."""
    while e > b:
        c = t[e - 1]
        if c in b" \t\r\f\v\n":
            e -= 1
        elif c < 0x80:
            break
        elif e - b >= 2 and t[e - 2] == 0xC2 and c == 0xA0:
            e -= 2
        elif e - b >= 3 and _space_len_at(t, e - 3, e) == 3:
            e -= 3
        else:
            break
    return e


def trim(t, b, e):
    """[b, e) of bytes t shrunk past whitespace at both ends."""
    while b < e:
        n = _space_len_at(t, b, e)
        if not n:
            break
        b += n
    return b, rtrim(t, b, e)


def _is_blank(t, b, e):
    return _BLANK_RE.fullmatch(t, b, e) is not None


def _ends_sentence(t, begin, end):
    while end > begin:
        c = t[end - 1]
        if c in b"\"')]":
            end -= 1
            continue
        if (end - begin >= 3 and t[end - 3] == 0xE2 and t[end - 2] == 0x80
                and c in (0x99, 0x9D)):
            end -= 3
            continue
        return c in b".!?:"
    return False


def _starts_paragraph(t, i):
    if i >= len(t):
        return False
    c = t[i]
    return (65 <= c <= 90) or (48 <= c <= 57) or c in b"\"'" or c >= 0xC0


def _abbreviation_before(t, begin, end):
    if end == begin or t[end - 1] != 0x2E:
        return False
    w = end - 1
    while w > begin and t[w - 1] not in b" \n":
        w -= 1
    word = t[w:end - 1]
    return len(word) <= 1 or b"." in word or word in _ABBREVIATIONS


def segment(t):
    """Paragraphs of UTF-8 bytes t as trimmed, non-empty (begin, end) pairs."""
    out = []
    n = len(t)

    def emit(b, e):
        b, e = trim(t, b, e)
        if b < e:
            out.append((b, e))

    para_begin = 0
    line_begin = 0
    for m in _EVENTS_RE.finditer(t):
        i = m.start()
        if i < line_begin:  # inside a space run already consumed
            continue
        if t[i] == 0x0A:
            if _is_blank(t, line_begin, i):
                emit(para_begin, line_begin)
                para_begin = i + 1
            else:
                end = rtrim(t, line_begin, i)
                if _ends_sentence(t, line_begin, end):
                    emit(para_begin, i)
                    para_begin = i + 1
            line_begin = i + 1
        else:
            j = m.end()
            if (j < n and t[j] != 0x0A and not _is_blank(t, line_begin, i)
                    and _starts_paragraph(t, j)
                    and _ends_sentence(t, line_begin, i)
                    and not _abbreviation_before(t, line_begin, i)):
                emit(para_begin, i)
                para_begin = j
                line_begin = j
    if _is_blank(t, line_begin, n):
        emit(para_begin, line_begin)
    else:
        emit(para_begin, n)
    return out


# ---------------------------------------------------------------------------
# Words: letters, marks and numbers (Unicode L*, M*, N*); everything else
# separates. Case-folded (NFKC + casefold for non-ASCII words). Han and kana
# are one word per character, as in the tool.

# A dotted abbreviation ("U.S.", "a.m.", "J.R.R."): single ASCII letters
# joined by dots are one word, ending at the last letter and normalized to
# its letters ("us"), as src/tokenize.cc does (at most 16 letters).
_ABBR = r"[A-Za-z](?:\.[A-Za-z](?![A-Za-z0-9])){1,15}"
_TOK_ASCII = re.compile(_ABBR + r"|[A-Za-z0-9]+")
_WORD_U = (r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a"
           r"\u064b-\u065f\u0900-\u0903\u093a-\u094f\u1ab0-\u1aff\u1dc0-\u1dff"
           r"\u20d0-\u20ff\ufe20-\ufe2f])")
# Default-ignorable characters inside a word are skipped (and dropped).
_JOINERS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_TOK_UNICODE = re.compile(_ABBR + "|" + _WORD_U + "+(?:[" + _JOINERS + "]+"
                          + _WORD_U + "+)*")
_JOINERS_RE = re.compile("[" + _JOINERS + "]")


def ascii_words(low, b=0, e=None):
    """Normalized words of lower-cased ASCII str low[b:e]."""
    ws = _TOK_ASCII.findall(low, b, len(low) if e is None else e)
    return [w.replace(".", "") if "." in w else w for w in ws]


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def tokenize(s):
    """Words of str s: (starts, ends, words) with UTF-8 byte offsets."""
    starts, ends, words = [], [], []
    if s.isascii():
        low = s.lower()
        for m in _TOK_ASCII.finditer(low):
            a, b = m.span()
            starts.append(a)
            ends.append(b)
            w = low[a:b]
            words.append(w.replace(".", "") if "." in w else w)
        return starts, ends, words
    pos_c = pos_b = 0
    for m in _TOK_UNICODE.finditer(s):
        a, b = m.span()
        pos_b += len(s[pos_c:a].encode("utf-8"))
        tok = s[a:b]
        if _CJK.search(tok):
            pieces = re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                                r"\uf900-\ufaff]|[^\u3040-\u30ff\u3400-\u4dbf"
                                r"\u4e00-\u9fff\uf900-\ufaff]+", tok)
        else:
            pieces = [tok]
        for p in pieces:
            lb = len(p.encode("utf-8"))
            starts.append(pos_b)
            ends.append(pos_b + lb)
            if p.isascii():
                w = p.lower()
                if "." in w:
                    w = w.replace(".", "")
            else:
                w = unicodedata.normalize(
                    "NFKC", _JOINERS_RE.sub("", p)).casefold()
            words.append(w)
            pos_b += lb
        pos_c = b
    return starts, ends, words


# ---------------------------------------------------------------------------
# Wire trailers and bylines, which the tool reports as boilerplate (a kind
# that is not scored): they are cut from paragraphs before matching and are
# never labelled. An independent, simplified form of the idea.

_TRAILER_RE = re.compile(
    r"(?:\((?:(?:Additional|Further|Extra) )?(?:[Rr]eporting|[Ww]riting|"
    r"[Ee]diting|[Cc]ompiled|[Rr]esearch|[Ww]ritten)\b[^()]*"
    r"(?:\([^()]*\)[^()]*)*\)\s*)+(?:\(\([^()]*\)\)\s*)?$")
_CONTACT_RE = re.compile(r"\(\([^()]*(?:@|Reuters Messaging)[^()]*\)\)\s*$")
_BYLINE_LINE_RE = re.compile(
    r"^(?:(?:Additional|Further) )?(?:Reporting|Writing|Editing|Compiled) by\s+[A-Z]")
_CURRENCY_RE = re.compile(r"\(\$1\s*=\s*[^()]{1,40}\)\s*$")


def strip_boilerplate(t, b, e):
    """Paragraph [b, e) of bytes t minus a byline line or trailing trailers.

    Returns (unit_begin, unit_end, boilerplate_ranges)."""
    cut = []
    head = t[b:min(e, b + 40)].decode("utf-8", "replace")
    if _BYLINE_LINE_RE.match(head):
        nl = t.find(b"\n", b, e)
        end = e if nl < 0 else nl
        cut.append((b, end))
        b, e = trim(t, end, e)
        if b >= e:
            return b, b, cut
    for _ in range(3):
        if t[e - 1] != 0x29:  # ')'
            break
        lo = max(b, e - 800)
        # Start on a character boundary.
        while lo > b and (t[lo] & 0xC0) == 0x80:
            lo -= 1
        tail = t[lo:e].decode("utf-8", "replace")
        m = (_TRAILER_RE.search(tail) or _CONTACT_RE.search(tail)
             or _CURRENCY_RE.search(tail))
        if not m:
            break
        start = lo + len(tail[:m.start()].encode("utf-8"))
        cut.append((start, e))
        b, e = trim(t, b, start)
        if b >= e:
            return b, b, cut
    return b, e, cut


_TITLE_PREFIX_RE = re.compile(
    r"^(?:(?:UPDATE|REFILE|CORRECTED|RPT|WRAPUP|FACTBOX|INSTANT VIEW|"
    r"CHRONOLOGY|ANALYSIS|PREVIEW|TIMELINE|Q\+A|EXCLUSIVE|INTERVIEW|"
    r"SCENARIOS|GLOBAL MARKETS|BRIEF)(?: \d+)?\s*-\s*)+")


def title_words(title):
    """Words of a title without a leading wire tag ("UPDATE 2-")."""
    m = _TITLE_PREFIX_RE.match(title)
    core = title[m.end():] if m and m.end() < len(title) else title
    return tokenize(core)[2]


_MONTHS = {"january", "february", "march", "april", "may", "june", "july",
           "august", "september", "october", "november", "december", "jan",
           "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
           "nov", "dec"}


def facts(words):
    """Numbers and month names of a title: two titles that differ in them
    report different figures or periods ("October sales fall 2.4 percent" /
    "December sales fall 4 percent") and are not near repeats."""
    return sorted(w for w in words if w in _MONTHS or any(ch.isdigit() for ch in w))


# ---------------------------------------------------------------------------
# Per-document analysis.


class Unit:
    """A paragraph as matched: a segment minus boilerplate and a headline."""
    __slots__ = ("b", "e", "t0", "t1", "words", "key")

    def __init__(self, b, e, t0, t1, words):
        self.b, self.e, self.t0, self.t1 = b, e, t0, t1
        self.words = words
        self.key = hash(tuple(words))


class Doc:
    __slots__ = ("idx", "id", "date", "topic", "title", "title_b", "text_b",
                 "twords", "starts", "ends", "words", "units", "boiler",
                 "headlines")


def analyse(rec, idx, offsets=True):
    """Segments, words and units of one record. offsets=False (ASCII texts
    only) skips the word offsets, which only labelled documents need."""
    d = Doc()
    d.idx = idx
    d.id = str(rec.get("id", idx))
    parts = d.id.split("/")
    d.topic = parts[1] if len(parts) > 2 else ""
    d.date = parts[1] if len(parts) > 2 else ""
    title = rec.get("title") or ""
    if not isinstance(title, str):
        title = ""
    d.title = title
    d.title_b = title.encode("utf-8")
    text = rec.get("text") or ""
    d.text_b = text.encode("utf-8")
    d.twords = title_words(title) if title.strip() else []
    light = not offsets and text.isascii()
    if light:
        low = text.lower()
        d.starts = d.ends = None
        d.words = ascii_words(low)
    else:
        d.starts, d.ends, d.words = tokenize(text)
    d.units, d.boiler, d.headlines = [], [], []
    t = d.text_b
    tw = d.twords
    for (b, e) in segment(t):
        b, e, cut = strip_boilerplate(t, b, e)
        d.boiler.extend(cut)
        if b >= e:
            continue
        if light:
            t0 = t1 = -1
            words = ascii_words(low, b, e)
        else:
            t0 = bisect.bisect_left(d.starts, b)
            t1 = bisect.bisect_left(d.starts, e)
            words = d.words[t0:t1]
        # The headline repeated in the body: the whole unit, or its start.
        if len(tw) >= HEADLINE_MIN_WORDS:
            if words == tw:
                d.headlines.append((b, e))
                continue
            if len(tw) >= 4 and len(words) > len(tw) and words[:len(tw)] == tw:
                if light:
                    words = words[len(tw):]
                else:
                    he = d.ends[t0 + len(tw) - 1]
                    d.headlines.append((b, he))
                    b, e = trim(t, he, e)
                    if b >= e:
                        continue
                    t0 += len(tw)
                    words = d.words[t0:t1]
        if len(words) < MIN_EXACT_WORDS:
            continue
        d.units.append(Unit(b, e, t0, t1, words))
    return d


# ---------------------------------------------------------------------------
# Pre-pass over the whole corpus: exact paragraph keys (first doc and number
# of distinct docs), exact title keys, and a sampled index of 8-word windows
# (1 in 16, by hash) that flags probable near repeats for pooling.

SAMPLE_N = 8
SAMPLE_MOD = 16


class Corpus:
    def __init__(self):
        self.ids = []
        self.dates = []
        self.topics = []
        self.key_first = {}      # unit key -> first doc idx
        self.key_ndocs = {}      # unit key -> distinct docs
        self.doc_keys = []       # per doc: tuple of unit keys
        self.title_first = {}    # title words -> first doc idx
        self.doc_flags = []      # per doc: dict of pre-pass findings


def prepass(path, log):
    c = Corpus()
    win_first = {}
    t0 = time.time()
    for idx, rec in enumerate(read_records(path)):
        d = analyse(rec, idx, offsets=False)
        c.ids.append(d.id)
        c.dates.append(d.date)
        c.topics.append(d.topic)
        flags = {"exact_other_date": False, "exact_any": False,
                 "near_other_date": False, "near_any": False,
                 "title_any": False, "title_other_date": False}
        keys = []
        for u in d.units:
            keys.append(u.key)
            f = c.key_first.get(u.key)
            if f is None:
                c.key_first[u.key] = idx
                c.key_ndocs[u.key] = 1
            else:
                flags["exact_any"] = True
                if c.dates[f] != d.date:
                    flags["exact_other_date"] = True
        for k in set(keys):
            if c.key_first[k] != idx:
                c.key_ndocs[k] += 1
        c.doc_keys.append(tuple(keys))
        # Sampled windows, per unit.
        for u in d.units:
            w = u.words
            if len(w) < NEAR_MIN_WORDS:
                continue
            sampled = earlier = earlier_other = 0
            for i in range(len(w) - SAMPLE_N + 1):
                h = hash(tuple(w[i:i + SAMPLE_N]))
                if h % SAMPLE_MOD:
                    continue
                sampled += 1
                f = win_first.get(h)
                if f is None:
                    win_first[h] = idx
                elif f != idx:
                    earlier += 1
                    if c.dates[f] != d.date:
                        earlier_other += 1
            if sampled >= 2 and earlier * 5 >= sampled * 2:
                flags["near_any"] = True
                if earlier_other * 5 >= sampled * 2:
                    flags["near_other_date"] = True
            elif earlier:
                flags["near_any"] = True  # shares some window: not a clean negative
        if len(d.twords) >= HEADLINE_MIN_WORDS:
            tk = tuple(d.twords)
            f = c.title_first.get(tk)
            if f is None:
                c.title_first[tk] = idx
            else:
                flags["title_any"] = True
                if c.dates[f] != d.date:
                    flags["title_other_date"] = True
        c.doc_flags.append(flags)
    log("pre-pass: %d docs, %d distinct paragraph keys, %d sampled windows, %.1f s"
        % (len(c.ids), len(c.key_first), len(win_first), time.time() - t0))
    return c


# ---------------------------------------------------------------------------
# The oracle, for a set of target documents: every earlier paragraph (in an
# earlier document, or earlier in the same one) that the target's paragraphs
# repeat; every 10-word window of the target's text that occurs earlier; and
# every earlier title the target's title repeats.


def seq_ratio(a, b):
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if sm.real_quick_ratio() < NEAR_RATIO or sm.quick_ratio() < NEAR_RATIO:
        return 0.0
    return sm.ratio()


def grams(words):
    """Distinct word n-grams (n = GRAM_N) of a word list."""
    return set(zip(*(words[i:] for i in range(GRAM_N))))


class Oracle:
    def __init__(self, corpus, target_idxs, log):
        self.corpus = corpus
        self.targets = set(target_idxs)
        self.last = max(self.targets) if self.targets else -1
        self.log = log
        self.docs = {}  # idx -> Doc, filled during the scan

    def run(self, path):
        t0 = time.time()
        c = self.corpus
        exact_idx = collections.defaultdict(list)    # unit key -> [(tidx, ui)]
        gram_idx = collections.defaultdict(list)     # n-gram -> [(tidx, ui)]
        window_idx = collections.defaultdict(list)   # 10-gram -> [(tidx, pos)]
        title_exact = collections.defaultdict(list)  # title words -> [tidx]
        title_word_idx = collections.defaultdict(list)
        unit_counters = {}
        self.matches = collections.defaultdict(list)   # (tidx, ui) -> [...]
        self.win_first = {}                             # (tidx, pos) -> doc idx
        self.title_matches = collections.defaultdict(list)
        # tidx -> the earlier paragraph sharing the most indexed n-grams
        # with one of its paragraphs (shown beside negatives).
        self.closest = {}
        scanned = 0
        n_target_units = 0
        n_candidates = n_verified = 0
        min_shared = None
        timers = [0.0, 0.0, 0.0, 0.0]

        # Index every target first (earlier copies may sit anywhere before
        # a target, including in another target).
        for idx, rec in enumerate(read_records(path)):
            if idx > self.last:
                break
            if idx not in self.targets:
                continue
            d = analyse(rec, idx)
            self.docs[idx] = d
            for ui, u in enumerate(d.units):
                exact_idx[u.key].append((idx, ui))
                n_target_units += 1
                if len(u.words) >= NEAR_MIN_WORDS:
                    for g in grams(u.words):
                        gram_idx[g].append((idx, ui))
                    unit_counters[(idx, ui)] = collections.Counter(u.words)
            w = d.words
            for p in range(len(w) - PASSAGE_WORDS + 1):
                window_idx[tuple(w[p:p + PASSAGE_WORDS])].append((idx, p))
            if len(d.twords) >= HEADLINE_MIN_WORDS:
                title_exact[tuple(d.twords)].append(idx)
            if len(d.twords) >= NEAR_TITLE_MIN_WORDS:
                for tw in set(d.twords):
                    title_word_idx[tw].append(idx)
        cap = GRAM_CAP or max(16, n_target_units // 200)
        tcap = max(8, len(self.targets) // 20)
        indexed = {g for g, post in gram_idx.items() if len(post) <= cap}
        windows = window_idx.keys()
        self.log("  %d targets indexed (%.1f s); %d-gram cap %d, title word "
                 "cap %d" % (len(self.docs), time.time() - t0, GRAM_N, cap, tcap))
        # Probe with every document up to the last target, in corpus order.
        for idx, rec in enumerate(read_records(path)):
            if idx > self.last:
                break
            scanned += 1
            if scanned % 20000 == 0:
                self.log("  ... %d docs probed, %.0f s" % (scanned, time.time() - t0))
            tm = time.perf_counter()
            d = self.docs.get(idx) or analyse(rec, idx, offsets=False)
            tm2 = time.perf_counter(); timers[0] += tm2 - tm; tm = tm2
            # Probe: exact paragraphs.
            for ui, u in enumerate(d.units):
                for (tidx, tui) in exact_idx.get(u.key, ()):
                    if (idx, ui) < (tidx, tui) and \
                            self.docs[tidx].units[tui].words == u.words:
                        self.matches[(tidx, tui)].append((idx, ui, 1.0, True))
            tm2 = time.perf_counter(); timers[1] += tm2 - tm; tm = tm2
            # Probe: near paragraphs.
            for ui, u in enumerate(d.units):
                la = len(u.words)
                if la < NEAR_MIN_WORDS:
                    continue
                common = grams(u.words) & indexed
                if len(common) < MIN_SHARED:
                    continue
                counts = collections.Counter()
                for g in common:
                    counts.update(gram_idx[g])
                ucount = None
                for (tidx, tui), shared in counts.items():
                    # Real near pairs share many n-grams (the fewest seen
                    # is logged as min_shared); MIN_SHARED is a floor.
                    if (idx, ui) >= (tidx, tui):
                        continue
                    if shared > self.closest.get(tidx, (0,))[0]:
                        self.closest[tidx] = (shared, tui, idx, ui, u.b, u.e)
                    if shared < MIN_SHARED:
                        continue
                    tw = self.docs[tidx].units[tui].words
                    lb = len(tw)
                    if 3 * lb < 2 * la or 3 * la < 2 * lb:
                        continue
                    if shared < SHARED_FRACTION * min(la, lb):
                        continue
                    if tw == u.words:
                        continue  # already an exact match
                    if ucount is None:
                        ucount = collections.Counter(u.words)
                    inter = sum((ucount & unit_counters[(tidx, tui)]).values())
                    if inter * 5 < 2 * (la + lb):
                        continue
                    n_candidates += 1
                    r = seq_ratio(u.words, tw)
                    if r >= NEAR_RATIO:
                        n_verified += 1
                        rel = shared / min(la, lb)
                        min_shared = (shared, rel) if min_shared is None else \
                            (min(min_shared[0], shared), min(min_shared[1], rel))
                        self.matches[(tidx, tui)].append((idx, ui, r, False))
            tm2 = time.perf_counter(); timers[2] += tm2 - tm; tm = tm2
            # Probe: 10-word windows.
            w = d.words
            if idx in self.targets:
                # Inside a target, a window counts from its second place on.
                for q in range(len(w) - PASSAGE_WORDS + 1):
                    post = window_idx.get(tuple(w[q:q + PASSAGE_WORDS]))
                    if post:
                        for (tidx, p) in post:
                            if (idx, q) < (tidx, p) and (tidx, p) not in self.win_first:
                                self.win_first[(tidx, p)] = idx
            else:
                common = set(zip(*(w[i:] for i in range(PASSAGE_WORDS))))
                common &= windows
                for g in common:
                    for (tidx, p) in window_idx[g]:
                        if idx < tidx and (tidx, p) not in self.win_first:
                            self.win_first[(tidx, p)] = idx
            tm2 = time.perf_counter(); timers[3] += tm2 - tm; tm = tm2
            # Probe: titles.
            if len(d.twords) >= HEADLINE_MIN_WORDS:
                for tidx in title_exact.get(tuple(d.twords), ()):
                    if idx < tidx:
                        self.title_matches[tidx].append((idx, 1.0, True))
            if len(d.twords) >= NEAR_TITLE_MIN_WORDS:
                cand = set()
                for tw in set(d.twords):
                    post = title_word_idx.get(tw)
                    if post and len(post) <= tcap:
                        cand.update(post)
                for tidx in cand:
                    if idx >= tidx:
                        continue
                    other = self.docs[tidx].twords
                    if other == d.twords or max(len(other), len(d.twords)) \
                            < HEADLINE_NEAR_MIN_WORDS:
                        continue
                    r = seq_ratio(d.twords, other)
                    if r >= NEAR_RATIO and facts(d.twords) == facts(other):
                        self.title_matches[tidx].append((idx, r, False))
        self.log("  time: analyse %.1f s, exact %.1f s, near %.1f s, windows "
                 "%.1f s" % tuple(timers))
        self.stats = {"scanned": scanned, "target_units": n_target_units,
                      "near_candidates": n_candidates,
                      "near_verified": n_verified,
                      "min_shared_grams": min_shared}
        self.log("oracle: %d docs scanned, %d targets, %d target paragraphs, "
                 "%d near candidates verified by difflib (%d real; fewest "
                 "shared indexed n-grams in a real one: %s), %.1f s"
                 % (scanned, len(self.targets), n_target_units, n_candidates,
                    n_verified, min_shared, time.time() - t0))

    # -- labels of one target ------------------------------------------------

    def labels(self, tidx):
        """(labels, details) for target tidx. Labels are dicts in the file
        format; details keep the matched text location for inspection."""
        c = self.corpus
        d = self.docs[tidx]
        out = []
        covered = []  # byte ranges the tool reports with other kinds or labels
        # Headline in the body.
        for (b, e) in d.headlines:
            out.append(({"doc": d.id, "field": "text", "start": b, "end": e,
                         "kind": "headline", "first": {"doc": d.id},
                         "edit": "exact"}, {"match": None}))
            covered.append((b, e))
        covered.extend(d.boiler)
        # Paragraphs.
        other_date = False
        from_other_doc = False
        for ui, u in enumerate(d.units):
            ms = self.matches.get((tidx, ui))
            if not ms:
                continue
            exact = any(m[3] for m in ms)
            first = min(m[0] for m in ms)
            if exact:
                if c.key_ndocs.get(u.key, 0) >= COMMON_DOCS:
                    edit = "exact-common"
                elif len(u.words) < MIN_TOKENS:
                    edit = "exact-short"
                else:
                    edit = "exact"
                best = min((m for m in ms if m[3]), key=lambda m: m[0])
            else:
                edit = "near"
                best = max(ms, key=lambda m: (m[2], -m[0]))
            if any(m[0] != tidx for m in ms):
                from_other_doc = True
            if any(m[0] != tidx and c.dates[m[0]] != d.date for m in ms):
                other_date = True
            out.append(({"doc": d.id, "field": "text", "start": u.b,
                         "end": u.e, "kind": "paragraph",
                         "first": {"doc": c.ids[first]}, "edit": edit},
                        {"match": best, "words": len(u.words)}))
            covered.append((u.b, u.e))
        # Passages: runs of tokens inside repeated 10-word windows, minus what
        # is covered, kept where 10+ words remain.
        n = len(d.words)
        first_at = [None] * n
        for p in range(n - PASSAGE_WORDS + 1):
            f = self.win_first.get((tidx, p))
            if f is not None:
                for k in range(p, p + PASSAGE_WORDS):
                    if first_at[k] is None or f < first_at[k]:
                        first_at[k] = f
        cov = sorted(covered)
        run = []

        def flush(run):
            if len(run) >= PASSAGE_WORDS:
                b, e = d.starts[run[0]], d.ends[run[-1]]
                first = min(first_at[k] for k in run)
                out.append(({"doc": d.id, "field": "text", "start": b,
                             "end": e, "kind": "span",
                             "first": {"doc": c.ids[first]}, "edit": "exact"},
                            {"match": None, "words": len(run)}))

        for k in range(n):
            inside = first_at[k] is not None
            if inside:
                for (cb, ce) in cov:
                    if cb <= d.starts[k] < ce or cb < d.ends[k] <= ce:
                        inside = False
                        break
            if inside:
                run.append(k)
            else:
                flush(run)
                run = []
        flush(run)
        # Title.
        tms = self.title_matches.get(tidx)
        if tms and d.title_b.strip():
            exact = any(m[2] for m in tms)
            first = min(m[0] for m in tms)
            best = (min((m for m in tms if m[2]), key=lambda m: m[0]) if exact
                    else max(tms, key=lambda m: m[1]))
            out.append(({"doc": d.id, "field": "title", "start": 0,
                         "end": len(d.title_b), "kind": "headline",
                         "first": {"doc": c.ids[first]},
                         "edit": "exact" if exact else "near"},
                        {"match": best}))
        out.sort(key=lambda x: (x[0]["field"] != "title", x[0]["start"]))
        return out, {"from_other_doc": from_other_doc,
                     "other_date": other_date}


# ---------------------------------------------------------------------------
# Sets.


def write_set(path, name, kinds, judged, log):
    """judged: list of (idx, labels) in corpus order; [] labels = negative."""
    n_lab = collections.Counter()
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"labels": "newsdedup-eval", "name": name,
                            "kinds": kinds}) + "\n")
        for idx, labels, doc_id in judged:
            if not labels:
                f.write(json.dumps({"doc": doc_id}) + "\n")
                continue
            for lab, _ in labels:
                f.write(json.dumps(lab) + "\n")
                n_lab[(lab["kind"], lab["edit"])] += 1
    npos = sum(1 for _, l, _ in judged if l)
    log("%s: %d judged docs (%d with labels, %d negatives), %d labels"
        % (path, len(judged), npos, len(judged) - npos, sum(n_lab.values())))
    for (k, e), v in sorted(n_lab.items()):
        log("    %-10s %-13s %6d" % (k, e, v))
    return n_lab


def build_bbc(args, log):
    path = os.path.join(args.data, "bbc-2225.jsonl.zst")
    c = prepass(path, log)
    oracle = Oracle(c, range(len(c.ids)), log)
    oracle.run(path)
    rng = random.Random(args.seed)
    positives, clean = [], []
    sources = set()  # docs some later paragraph or passage repeats
    per_doc = {}
    for idx in range(len(c.ids)):
        labels, info = oracle.labels(idx)
        per_doc[idx] = (labels, info)
    for (tidx, tui), ms in oracle.matches.items():
        for m in ms:
            if m[0] != tidx:
                sources.add(m[0])
    for (tidx, p), f in oracle.win_first.items():
        if f != tidx:
            sources.add(f)
    for tidx, tms in oracle.title_matches.items():
        for m in tms:
            sources.add(m[0])
    for idx in range(len(c.ids)):
        labels, info = per_doc[idx]
        if info["from_other_doc"]:
            positives.append(idx)
        elif not labels and idx not in sources:
            clean.append(idx)
    by_topic = collections.defaultdict(list)
    for idx in clean:
        by_topic[c.topics[idx]].append(idx)
    need = collections.Counter(c.topics[i] for i in positives)
    negatives = []
    for topic in sorted(need):
        pool = by_topic[topic]
        negatives.extend(rng.sample(pool, min(need[topic], len(pool))))
    pos_set = set(positives)
    judged = sorted(pos_set | set(negatives))
    rows = [(i, per_doc[i][0] if i in pos_set else [], c.ids[i])
            for i in judged]
    out = os.path.join(args.out, "bbc-real.jsonl")
    other = sum(1 for i in range(len(c.ids))
                if per_doc[i][0] and not per_doc[i][1]["from_other_doc"])
    log("bbc: %d docs repeat an earlier doc's paragraph; %d others have only "
        "passages, titles or same-doc repeats (not judged); %d clean docs "
        "(no repeat either way) to draw negatives from; per topic %s"
        % (len(positives), other, len(clean), dict(sorted(need.items()))))
    write_set(out, "bbc-real", ["paragraph", "span", "headline"], rows, log)
    return c, oracle, positives, negatives, per_doc


def build_reuters(args, log):
    path = os.path.join(args.data, "reuters-2006-2010.jsonl.zst")
    c = prepass(path, log)
    rng = random.Random(args.seed)
    flags = c.doc_flags
    pool = [i for i in range(len(c.ids))
            if flags[i]["exact_other_date"] or flags[i]["near_other_date"]]
    log("reuters: pool of %d docs with a probable repeated paragraph from an "
        "earlier doc of another date (%d by exact key, %d by sampled windows)"
        % (len(pool), sum(1 for i in pool if flags[i]["exact_other_date"]),
           sum(1 for i in pool if flags[i]["near_other_date"]
               and not flags[i]["exact_other_date"])))
    n_pos = args.reuters_docs
    # About a third of the pool is not confirmed by the oracle (a sampled
    # window hit that is a shared passage, not a repeated paragraph).
    pos_cand = sorted(rng.sample(pool, min(len(pool), int(n_pos * 1.8) + 20)))
    # Negative candidates: same day as a positive candidate, nothing repeated
    # in the pre-pass (no exact paragraph shared with any other doc, no
    # sampled window seen before, no repeated title).
    by_date = collections.defaultdict(list)
    for i in range(len(c.ids)):
        f = flags[i]
        if f["exact_any"] or f["near_any"] or f["title_any"]:
            continue
        if any(c.key_ndocs[k] > 1 for k in c.doc_keys[i]):
            continue
        by_date[c.dates[i]].append(i)
    neg_cand = []
    taken = set()
    order = list(pos_cand)
    rng.shuffle(order)
    for rnd in range(2):
        for i in order:
            options = [j for j in by_date.get(c.dates[i], ()) if j not in taken]
            if options:
                j = rng.choice(options)
                taken.add(j)
                neg_cand.append((i, j))
    log("reuters: %d positive candidates, %d negative candidates"
        % (len(pos_cand), len(neg_cand)))
    oracle = Oracle(c, set(pos_cand) | {j for _, j in neg_cand}, log)
    oracle.run(path)
    per_doc = {}
    for idx in oracle.targets:
        per_doc[idx] = oracle.labels(idx)
    # Positives, in the seeded order, up to n_pos.
    rng2 = random.Random(args.seed + 1)
    order = list(pos_cand)
    rng2.shuffle(order)
    positives = [i for i in order if per_doc[i][1]["other_date"]][:n_pos]
    dropped = len([i for i in pos_cand if not per_doc[i][1]["other_date"]])
    pos_dates = {c.dates[i] for i in positives}
    pos_set = set(positives)
    negatives = []
    failed = sum(1 for _, j in neg_cand if per_doc[j][0])
    why = collections.Counter(
        "+".join(sorted({lab["kind"] for lab, _ in per_doc[j][0]}))
        for _, j in neg_cand if per_doc[j][0])
    for (i, j) in neg_cand:
        if len(negatives) >= len(positives):
            break
        if c.dates[j] in pos_dates and not per_doc[j][0]:
            negatives.append(j)
    log("reuters: %d positives kept (%d candidates had no verified repeat from "
        "another date), %d negatives kept (%d of %d candidates have a label: "
        "a repeat the pre-pass missed: %s)"
        % (len(positives), dropped, len(negatives), failed, len(neg_cand),
           dict(why.most_common())))
    judged = sorted(pos_set | set(negatives))
    rows = [(i, per_doc[i][0] if i in pos_set else [], c.ids[i]) for i in judged]
    out = os.path.join(args.out, "reuters-refiles.jsonl")
    write_set(out, "reuters-refiles", ["paragraph", "span", "headline"], rows,
              log)
    return c, oracle, positives, negatives, per_doc


# ---------------------------------------------------------------------------
# Inspection (terminal only): near labels beside the text they repeat, and
# negatives beside the closest earlier paragraph the oracle looked at.


def fetch_texts(path, idxs):
    want = set(idxs)
    got = {}
    for idx, rec in enumerate(read_records(path)):
        if idx in want:
            got[idx] = rec
            if len(got) == len(want):
                break
    return got


def show(args, name, path, c, oracle, positives, negatives, per_doc, n_near,
         n_neg, log):
    rng = random.Random(args.seed + 7)
    near = [(i, lab, det) for i in positives for lab, det in per_doc[i][0]
            if lab["edit"] == "near" and lab["kind"] == "paragraph"]
    near_t = [(i, lab, det) for i in positives for lab, det in per_doc[i][0]
              if lab["edit"] == "near" and lab["kind"] == "headline"]
    pick = rng.sample(near, min(n_near, len(near)))
    pick_t = near_t
    negs = rng.sample(negatives, min(n_neg, len(negatives)))
    need = {i for i, _, _ in pick + pick_t} | set(negs)
    for _, _, det in pick + pick_t:
        need.add(det["match"][0])
    for j in negs:
        if j in oracle.closest:
            need.add(oracle.closest[j][2])
    recs = fetch_texts(path, need)
    docs = {i: oracle.docs.get(i) or analyse(recs[i], i) for i in need}
    bar = "=" * 100

    def txt(i, b, e):
        return docs[i].text_b[b:e].decode("utf-8", "replace")

    print(bar)
    print("%s: %d of %d near paragraph labels" % (name, len(pick), len(near)))
    for k, (i, lab, det) in enumerate(pick, 1):
        m = det["match"]
        q = docs[m[0]].units[m[1]]
        print(bar)
        print("[near %d] %s [%d,%d) ratio %.3f  vs  %s [%d,%d)"
              % (k, c.ids[i], lab["start"], lab["end"], m[2], c.ids[m[0]],
                 q.b, q.e))
        print("--- LABEL:\n" + txt(i, lab["start"], lab["end"]))
        print("--- EARLIER:\n" + txt(m[0], q.b, q.e))
        a = docs[i].units
        sm = difflib.SequenceMatcher(None, txt(m[0], q.b, q.e).split(),
                                     txt(i, lab["start"], lab["end"]).split(),
                                     autojunk=False)
        diffs = []
        for op, a0, a1, b0, b1 in sm.get_opcodes():
            if op != "equal":
                diffs.append("%s %r -> %r" % (op, " ".join(sm.a[a0:a1]),
                                              " ".join(sm.b[b0:b1])))
        print("--- DIFF: " + " | ".join(diffs))
    print(bar)
    print("%s: %d of %d near headline labels" % (name, len(pick_t), len(near_t)))
    for i, lab, det in pick_t:
        m = det["match"]
        print("  %r\n  %r (ratio %.3f)" % (docs[i].title, docs[m[0]].title, m[1]))
    print(bar)
    print("%s: %d of %d negatives, each with the closest earlier paragraph "
          "the oracle compared" % (name, len(negs), len(negatives)))
    for k, j in enumerate(negs, 1):
        print(bar)
        d = docs[j]
        print("[neg %d] %s  title %r" % (k, c.ids[j], d.title))
        cl = oracle.closest.get(j)
        if not cl:
            print("--- no earlier paragraph shares an indexed n-gram with it")
            print("--- DOC (first 600 bytes):\n"
                  + d.text_b[:600].decode("utf-8", "replace"))
            continue
        shared, tui, qi, qui, qb, qe = cl
        u = d.units[tui]
        q = docs[qi].units[qui]
        r = difflib.SequenceMatcher(None, u.words, q.words,
                                    autojunk=False).ratio()
        print("--- closest earlier paragraph: %d shared rare %d-grams, ratio "
              "%.3f (%d vs %d words), in %s [%d,%d)  title %r"
              % (shared, GRAM_N, r, len(u.words), len(q.words), c.ids[qi],
                 qb, qe, docs[qi].title))
        print("--- NEGATIVE PARAGRAPH:\n" + txt(j, u.b, u.e))
        print("--- EARLIER:\n" + txt(qi, qb, qe))


# ---------------------------------------------------------------------------
# Comparison with a span report from `newsdedup scan` (for a quick look
# before `newsdedup eval` exists): per judged doc, scored-kind findings
# against labels, by bytes and by overlap.


def compare_report(labels_path, report_path, log):
    header = None
    judged = set()
    labels = collections.defaultdict(list)
    with open(labels_path) as f:
        for line in f:
            o = json.loads(line)
            if "labels" in o:
                header = o
                continue
            judged.add(o["doc"])
            if "start" in o:
                labels[o["doc"]].append(o)
    kinds = set(header["kinds"]) if header else {"paragraph", "span", "headline"}
    found = collections.defaultdict(list)
    with open(report_path) as f:
        for line in f:
            o = json.loads(line)
            if o.get("doc") in judged and o.get("kind") in kinds:
                found[o["doc"]].append(o)

    def overlap(a, bs):
        return sum(max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))
                   for b in bs if b["field"] == a["field"])

    tp_lab = collections.Counter()
    all_lab = collections.Counter()
    lab_bytes = lab_cov = 0
    f_all = f_cov = 0
    f_bytes = f_bytes_cov = 0
    fp_kind = collections.Counter()
    for doc in judged:
        ls = labels.get(doc, [])
        fs = found.get(doc, [])
        for l in ls:
            key = (l["kind"], l["edit"])
            all_lab[key] += 1
            ov = overlap(l, fs)
            if ov * 2 >= l["end"] - l["start"]:
                tp_lab[key] += 1
            lab_bytes += l["end"] - l["start"]
            lab_cov += ov
        for x in fs:
            f_all += 1
            ov = overlap(x, ls)
            f_bytes += x["end"] - x["start"]
            f_bytes_cov += ov
            if ov * 2 >= x["end"] - x["start"]:
                f_cov += 1
            else:
                fp_kind[(x["kind"], x.get("match"))] += 1
    log("compare %s with %s:" % (os.path.basename(labels_path), report_path))
    for key in sorted(all_lab):
        log("    labels %-10s %-13s found %4d / %4d" % (key + (tp_lab[key], all_lab[key])))
    log("    label bytes covered by findings: %.3f" % (lab_cov / max(1, lab_bytes)))
    log("    findings (scored kinds) in judged docs: %d, half-covered by labels "
        "%d; bytes covered %.3f; uncovered by kind %s"
        % (f_all, f_cov, f_bytes_cov / max(1, f_bytes), dict(fp_kind)))


# ---------------------------------------------------------------------------


def main():
    global GRAM_N, GRAM_CAP, MIN_SHARED, SHARED_FRACTION
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data",
                    help="folder with the corpora (default ../shared/data)")
    ap.add_argument("--out", help="output folder (required unless --compare)")
    ap.add_argument("--sets", default="bbc,reuters",
                    help="comma-separated: bbc, reuters (default both)")
    ap.add_argument("--seed", type=int, default=20061020,
                    help="seed of every draw (default 20061020)")
    ap.add_argument("--reuters-docs", type=int, default=300,
                    help="Reuters positives (and as many negatives)")
    ap.add_argument("--show", type=int, nargs=2, metavar=("NEAR", "NEG"),
                    help="print NEAR random near labels and NEG negatives "
                    "beside the text they are judged against (terminal only)")
    ap.add_argument("--compare", nargs=2, action="append",
                    metavar=("LABELS", "REPORT"),
                    help="only compare a label file with a `newsdedup scan` "
                    "report, and exit")
    ap.add_argument("--gram", type=int, default=GRAM_N, help=argparse.SUPPRESS)
    ap.add_argument("--gram-cap", type=int, default=GRAM_CAP,
                    help=argparse.SUPPRESS)
    ap.add_argument("--min-shared", type=int, default=MIN_SHARED,
                    help=argparse.SUPPRESS)
    ap.add_argument("--shared-fraction", type=float, default=SHARED_FRACTION,
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    GRAM_N, GRAM_CAP, MIN_SHARED = args.gram, args.gram_cap, args.min_shared
    SHARED_FRACTION = args.shared_fraction

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.compare:
        for lp, rp in args.compare:
            compare_report(lp, rp, log)
        return
    if not args.out:
        ap.error("--out is required")
    os.makedirs(args.out, exist_ok=True)
    for s in args.sets.split(","):
        t0 = time.time()
        if s == "bbc":
            res = build_bbc(args, log)
            path = os.path.join(args.data, "bbc-2225.jsonl.zst")
        elif s == "reuters":
            res = build_reuters(args, log)
            path = os.path.join(args.data, "reuters-2006-2010.jsonl.zst")
        else:
            sys.exit("unknown set %r" % s)
        log("%s: %.1f s" % (s, time.time() - t0))
        if args.show:
            show(args, s, path, *res, args.show[0], args.show[1], log)


if __name__ == "__main__":
    main()

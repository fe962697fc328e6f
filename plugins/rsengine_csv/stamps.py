"""Stamp text -> int64 nanoseconds: the formats a CSV layout may name, and the
localisation of wall times in a zone (DST gaps and repeated hours).

:class:`StampFormat` parses vectorized where rows share one shape and row by
row (same rules) for the rest; :class:`Zone` turns local wall time into UTC.
A bad value raises :class:`Bad`, whose ``problem`` completes the sentence
"'text' ...".
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np

UNIX_FORMATS = {"unix_s": 10**9, "unix_ms": 10**6, "unix_us": 10**3, "unix_ns": 1}
STAMP, ZONE = "stamp", "zone"  # bad-row kinds

NS = 10**9
_HOUR_NS = 3600 * NS
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MIN_YEAR, _MAX_YEAR = 1678, 2261  # int64 ns covers 1677-09-21 .. 2262-04-11
_UTC_NAMES = {"UTC", "ETC/UTC", "ETC/UCT", "UCT", "ZULU", "ETC/ZULU", "GMT", "ETC/GMT"}


class Bad(Exception):
    """One bad value: ``problem`` completes the sentence "'text' ..."."""

    def __init__(self, problem, kind=STAMP):
        super().__init__(problem)
        self.problem = problem
        self.kind = kind


_ISO_RE = re.compile(
    r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_UNIX_RE = re.compile(r"([+-]?)(\d+)(?:\.(\d*))?", re.ASCII)
_NUMBER_DIRECTIVES = set("YymdHIMSf")
_PATTERN_PARTS = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d{2})",
    "f": r"(?P<f>\d{1,9})",
    "p": r"(?P<p>[AaPp][Mm])",
    "b": r"(?P<b>[A-Za-z]{3})",
    "z": r"(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)",
}
_TWO_DIGITS = set("mdHIMS")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_EXAMPLE = dt.datetime(2024, 1, 2, 15, 30, 0, 123456)


def _compile_pattern(fmt: str):
    tokens = []
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            tokens.append(("lit", fmt[i]))
            i += 1
            continue
        if i + 1 == len(fmt):
            raise ValueError(f"ts_format {fmt!r} ends with a lone '%'")
        d = fmt[i + 1]
        i += 2
        if d == "%":
            tokens.append(("lit", "%"))
        elif d in _PATTERN_PARTS or d in _TWO_DIGITS:
            tokens.append(("dir", d))
        else:
            raise ValueError(
                f"ts_format {fmt!r}: unsupported directive %{d}"
                " (supported: %Y %y %m %d %H %I %p %M %S %f %z %b %%)"
            )
    used = [t[1] for t in tokens if t[0] == "dir"]
    dupes = sorted({d for d in used if used.count(d) > 1})
    if dupes:
        raise ValueError(f"ts_format {fmt!r}: %{dupes[0]} appears twice")
    dirs = set(used)
    problems = []
    if not dirs & {"Y", "y"}:
        problems.append("a year (%Y or %y)")
    if not dirs & {"m", "b"}:
        problems.append("a month (%m or %b)")
    if "d" not in dirs:
        problems.append("a day (%d)")
    if problems:
        raise ValueError(f"ts_format {fmt!r} needs {', '.join(problems)}")
    if ("I" in dirs) != ("p" in dirs):
        raise ValueError(f"ts_format {fmt!r}: %I and %p go together")
    if "I" in dirs and "H" in dirs:
        raise ValueError(f"ts_format {fmt!r}: use %H or %I, not both")
    parts = []
    for k, (what, val) in enumerate(tokens):
        if what == "lit":
            parts.append(re.escape(val))
        elif val in _TWO_DIGITS:
            near = [tokens[j] for j in (k - 1, k + 1) if 0 <= j < len(tokens)]
            tight = any(t[0] == "dir" and t[1] in _NUMBER_DIRECTIVES for t in near)
            parts.append(rf"(?P<{val}>\d{{2}})" if tight else rf"(?P<{val}>\d{{1,2}})")
        else:
            parts.append(_PATTERN_PARTS[val])
    return re.compile("".join(parts), re.ASCII), dirs


def _offset_seconds(z: str) -> int:
    if z in ("Z", "z"):
        return 0
    digits = z[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise Bad(f"has an invalid UTC offset {z!r}")
    sign = -1 if z[0] == "-" else 1
    return sign * (hours * 3600 + minutes * 60)


def _digits(mat: np.ndarray, positions) -> np.ndarray:
    value = mat[:, positions[0]].astype(np.int64) - 48
    for p in positions[1:]:
        value *= 10
        value += mat[:, p]
        value -= 48
    return value


def _days_from_civil(y, m, d):
    """Days since 1970-01-01 (proleptic Gregorian), vectorized (H. Hinnant)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_DIM = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


class StampFormat:
    """Parses stamp text: vectorized where rows share a shape, one row otherwise.

    Results are ``(ns, has_offset)``: ns UTC when the text carried an offset (or
    is a unix stamp), else ns of the local wall time, still to be localized.
    """

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.unix = UNIX_FORMATS.get(fmt)
        self.vector = True
        if self.unix:
            self.regex = _UNIX_RE
            self.example = str(1704209400 * NS // self.unix)
        elif fmt == "iso":
            self.regex = _ISO_RE
            self.example = "2024-01-02 15:30:00.123456789-05:00"
        elif "%" in fmt:
            self.regex, dirs = _compile_pattern(fmt)
            self.vector = not dirs & {"p", "b"}
            self.example = _EXAMPLE.strftime(fmt.replace("%z", "+0000"))
        else:
            raise ValueError(
                f"ts_format {fmt!r} is not 'iso', one of {', '.join(UNIX_FORMATS)},"
                " or a strptime pattern"
            )

    def _not_a_stamp(self) -> Bad:
        return Bad(f"is not a timestamp in format {self.fmt!r} (expected e.g. {self.example!r})")

    # -- one row ----------------------------------------------------------------------------

    def parse_one(self, text: str) -> tuple[int, bool]:
        if self.unix:
            return self._unix_one(text), True
        m = self.regex.fullmatch(text)
        if m is None:
            raise self._not_a_stamp()
        g = m.groupdict()
        if g.get("Y"):
            year = int(g["Y"])
        else:
            yy = int(g["y"])
            year = 2000 + yy if yy < 69 else 1900 + yy
        if g.get("b"):
            month = _MONTHS.get(g["b"].lower())
            if month is None:
                raise Bad(f"has an unknown month name {g['b']!r}")
        else:
            month = int(g["m"])
        if g.get("I"):
            hour12 = int(g["I"])
            if not 1 <= hour12 <= 12:
                raise Bad(f"has hour {hour12} with %I (expected 1..12)")
            hour = hour12 % 12 + (12 if g["p"].lower() == "pm" else 0)
        else:
            hour = int(g.get("H") or 0)
        minute, second = int(g.get("M") or 0), int(g.get("S") or 0)
        frac = g.get("f")
        try:
            day = dt.datetime(year, month, int(g["d"]), hour, minute, second)
        except ValueError as exc:
            raise Bad(f"is not a valid time ({exc})") from None
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            raise Bad(f"is outside the years {_MIN_YEAR}..{_MAX_YEAR} that int64 ns can hold")
        secs = (day.toordinal() - _EPOCH_ORDINAL) * 86400 + hour * 3600 + minute * 60 + second
        ns = secs * NS + (int(frac) * 10 ** (9 - len(frac)) if frac else 0)
        z = g.get("z")
        if z:
            return ns - _offset_seconds(z) * NS, True
        return ns, False

    def _unix_one(self, text: str) -> int:
        try:
            value = int(text) * self.unix
        except ValueError:
            m = self.regex.fullmatch(text)
            if m is None:
                raise self._not_a_stamp() from None
            sign, whole, frac = m.groups()
            places = len(str(self.unix)) - 1
            frac = (frac or "").rstrip("0")
            if len(frac) > places:
                raise Bad(f"has more decimals than {self.fmt} can hold to the nanosecond") from None
            value = int(whole) * self.unix + int(frac.ljust(places, "0") or 0)
            value = -value if sign == "-" else value
        if not -(2**63) <= value < 2**63:
            raise Bad("is outside the range int64 nanoseconds can hold")
        return value

    # -- many rows --------------------------------------------------------------------------

    def parse_many(self, col: np.ndarray):
        """-> (ns, has_offset, ok); rows with ``ok`` False need :meth:`parse_one`."""
        n = len(col)
        ns = np.zeros(n, np.int64)
        has_off = np.zeros(n, bool)
        ok = np.zeros(n, bool)
        if not self.vector or n == 0:
            return ns, has_off, ok
        if self.unix:
            try:
                values = col.astype(np.int64)
            except (ValueError, OverflowError):
                return ns, has_off, ok
            limit = (2**63 - 1) // self.unix
            ok = np.abs(values) <= limit
            ns[ok] = values[ok] * self.unix
            has_off[:] = True
            return ns, has_off, ok
        if col.dtype.kind == "U":
            try:
                col = np.strings.encode(col, "ascii")
            except UnicodeEncodeError:
                return ns, has_off, ok
        lengths = np.strings.str_len(col)
        if lengths.min() == lengths.max() == col.itemsize:  # one shape: no regrouping
            return self._same_length(col, col.itemsize)
        for length in np.unique(lengths).tolist():
            if length == 0:
                continue
            rows = np.flatnonzero(lengths == length)
            g_ns, g_off, g_ok = self._same_length(col[rows], length)
            ns[rows], has_off[rows], ok[rows] = g_ns, g_off, g_ok
        return ns, has_off, ok

    def _template(self, sub: np.ndarray):
        for text in sub[:3].tolist():
            m = self.regex.fullmatch(text.decode("ascii", "replace"))
            if m is not None:
                return text, m
        return None, None

    def _same_length(self, sub: np.ndarray, length: int):
        n = len(sub)
        fail = (np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, bool))
        tmpl, m = self._template(sub)
        if m is None:
            return fail
        mat = np.ascontiguousarray(sub.astype(f"S{length}", copy=False))
        mat = mat.view(np.uint8).reshape(n, length)
        tmpl = np.frombuffer(tmpl, np.uint8)
        spans = {k: m.span(k) for k, v in m.groupdict().items() if v is not None}
        literal = np.ones(length, bool)
        digit_pos = []
        for k, (a, b) in spans.items():
            if k == "z":
                continue
            literal[a:b] = False
            digit_pos.extend(range(a, b))
        z_span = spans.get("z")
        z_sign = z_digits = None
        if z_span and m.group("z") not in ("Z", "z"):
            a, b = z_span
            literal[a] = False
            z_sign = a
            z_digits = [p for p in range(a + 1, b) if chr(tmpl[p]).isdigit()]
            literal[z_digits] = False
            digit_pos.extend(z_digits)
        lit = np.flatnonzero(literal)
        ok = (mat[:, lit] == tmpl[lit]).all(axis=1)
        ok &= ((mat[:, digit_pos] - np.uint8(48)) <= 9).all(axis=1)

        def field(key, default=0):
            if key not in spans:
                return np.full(n, default, np.int64)
            a, b = spans[key]
            return _digits(mat, list(range(a, b)))

        if "Y" in spans:
            year = field("Y")
        else:
            yy = field("y")
            year = np.where(yy < 69, 2000 + yy, 1900 + yy)
        month, day = field("m"), field("d")
        hour, minute, second = field("H"), field("M"), field("S")
        ok &= (year >= _MIN_YEAR) & (year <= _MAX_YEAR) & (month >= 1) & (month <= 12)
        ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
        month_c = np.clip(month, 1, 12)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        ok &= (day >= 1) & (day <= _DIM[month_c] + (leap & (month_c == 2)))
        secs = _days_from_civil(year, month_c, day) * 86400 + hour * 3600 + minute * 60 + second
        ns = secs * NS
        if "f" in spans:
            a, b = spans["f"]
            ns += field("f") * 10 ** (9 - (b - a))
        has_off = np.full(n, "z" in spans)
        if z_sign is not None:
            sign_byte = mat[:, z_sign]
            ok &= (sign_byte == ord("+")) | (sign_byte == ord("-"))
            hh = _digits(mat, z_digits[:2])
            mm = _digits(mat, z_digits[2:4]) if len(z_digits) > 2 else np.zeros(n, np.int64)
            ok &= (hh <= 23) & (mm <= 59)
            offset = np.where(sign_byte == ord("-"), -1, 1) * (hh * 3600 + mm * 60)
            ns -= offset * NS
        return ns, has_off, ok


class Zone:
    """Local wall time -> UTC in one zone, with offsets cached per local hour."""

    def __init__(self, name: str, ambiguous: str):
        self.name = name
        self.zone = ZoneInfo(name)
        self.mode = ambiguous
        self.utc = name.upper() in _UTC_NAMES
        self._hours: dict[int, int | None] = {}

    def _offset(self, naive: dt.datetime, fold: int) -> int:
        return int(naive.replace(tzinfo=self.zone, fold=fold).utcoffset().total_seconds())

    def _hour_offset(self, hour: int) -> int | None:
        """The hour's one offset, or None when it changes within the hour."""
        start = _EPOCH + dt.timedelta(hours=hour)
        end = start + dt.timedelta(seconds=3599, microseconds=999999)
        offsets = {self._offset(t, f) for t in (start, end) for f in (0, 1)}
        return offsets.pop() if len(offsets) == 1 else None

    def localize(self, local: np.ndarray, prev: int):
        """-> (utc ns, {index: Bad}); ``prev`` is the last good stamp before."""
        if self.utc or len(local) == 0:
            return local, {}
        hours = np.floor_divide(local, _HOUR_NS)
        uniq, inv = np.unique(hours, return_inverse=True)
        offsets = np.zeros(len(uniq), np.int64)
        changing = np.zeros(len(uniq), bool)
        cache = self._hours
        for k, hour in enumerate(uniq.tolist()):
            if hour not in cache:
                cache[hour] = self._hour_offset(hour)
            off = cache[hour]
            if off is None:
                changing[k] = True
            else:
                offsets[k] = off
        utc = local - offsets[inv] * NS
        problems = {}
        for i in np.flatnonzero(changing[inv]).tolist():
            if i > 0 and i - 1 not in problems:
                prev = int(utc[i - 1])
            try:
                utc[i] = self._one(int(local[i]), prev)
            except Bad as bad:
                problems[i] = bad
        return utc, problems

    def _one(self, local: int, prev: int) -> int:
        secs, frac = divmod(local, NS)
        naive = _EPOCH + dt.timedelta(seconds=secs)
        early = (secs - self._offset(naive, 0)) * NS + frac
        late = (secs - self._offset(naive, 1)) * NS + frac
        if early == late:
            return early
        if early > late:
            raise Bad(f"does not exist in {self.name} (the clocks skipped it)", ZONE)
        if self.mode == "earliest":
            return early
        if self.mode == "latest":
            return late
        if self.mode == "infer":
            return early if early >= prev else late
        raise Bad(
            f"is ambiguous in {self.name} (the clocks went back; it occurs twice);"
            " expected an unambiguous time, or set tz_ambiguous to 'earliest', 'latest'"
            " or 'infer'",
            ZONE,
        )


def format_ns(ns: int) -> str:
    secs, frac = divmod(int(ns), NS)
    text = (_EPOCH + dt.timedelta(seconds=secs)).isoformat(sep=" ")
    return f"{text}.{frac:09d}".rstrip("0") + "Z" if frac else text + "Z"

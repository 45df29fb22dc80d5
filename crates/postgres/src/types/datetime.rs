//! Dates, times, timestamps and intervals: binary values and ISO text into tape values,
//! and PostgreSQL's text output for time, timetz and interval.

/// Seconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_SECS: i64 = 946_684_800;
const US_PER_DAY: i64 = 86_400_000_000;

/// A timestamp as tape values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    Infinity,
    NegInfinity,
    /// µs since the Unix epoch.
    Micros(i128),
}

impl Stamp {
    /// A binary timestamp: µs since 2000-01-01, `i64::MAX`/`MIN` for ±infinity.
    pub(super) fn from_pg_binary(us: i64) -> Stamp {
        match us {
            i64::MAX => Stamp::Infinity,
            i64::MIN => Stamp::NegInfinity,
            us => Stamp::Micros(i128::from(us) + i128::from(PG_EPOCH_SECS) * 1_000_000),
        }
    }

    /// (ms since the Unix epoch, floored; the remaining µs 0..=999).
    pub(super) fn split(self) -> (f64, i32) {
        match self {
            Stamp::Infinity => (f64::INFINITY, 0),
            Stamp::NegInfinity => (f64::NEG_INFINITY, 0),
            Stamp::Micros(us) => (us.div_euclid(1000) as f64, us.rem_euclid(1000) as i32),
        }
    }
}

/// A binary date (days since 2000-01-01, `i32::MAX`/`MIN` for ±infinity) as ms since the Unix epoch.
pub(super) fn date_binary_ms(days: i32) -> f64 {
    match days {
        i32::MAX => f64::INFINITY,
        i32::MIN => f64::NEG_INFINITY,
        d => ((i64::from(d) + PG_EPOCH_SECS / 86_400) * 86_400_000) as f64,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year numbering).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Splits `s` into a number of at least `min` digits and the rest.
fn digits(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n < min || n > max {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// `YYYY-MM-DD` (4 or more year digits) → days since the Unix epoch, and the rest.
fn date_part(s: &str) -> Option<(i64, u32, u32, &str)> {
    let (y, s) = digits(s, 4, 9)?;
    let (m, s) = digits(s.strip_prefix('-')?, 2, 2)?;
    let (d, s) = digits(s.strip_prefix('-')?, 2, 2)?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y == 0 {
        return None;
    }
    Some((y, m as u32, d as u32, s))
}

fn days(y: i64, m: u32, d: u32, bc: bool) -> i64 {
    // 1 BC is astronomical year 0.
    days_from_civil(if bc { 1 - y } else { y }, m, d)
}

/// ISO date text (DateStyle ISO): `2024-01-31`, `0044-03-15 BC`, `infinity`, `-infinity`.
pub(super) fn parse_date(s: &str) -> Option<f64> {
    match s {
        "infinity" => return Some(f64::INFINITY),
        "-infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let (y, m, d, rest) = date_part(s)?;
    let bc = match rest {
        "" => false,
        " BC" => true,
        _ => return None,
    };
    Some((days(y, m, d, bc) * 86_400_000) as f64)
}

/// ISO timestamp text: `2024-01-31 12:34:56.789012[+05:30][ BC]`; a zone only when `tz`.
pub(super) fn parse_timestamp(s: &str, tz: bool) -> Option<Stamp> {
    match s {
        "infinity" => return Some(Stamp::Infinity),
        "-infinity" => return Some(Stamp::NegInfinity),
        _ => {}
    }
    let (y, mo, d, s) = date_part(s)?;
    let (h, s) = digits(s.strip_prefix(' ')?, 2, 2)?;
    let (mi, s) = digits(s.strip_prefix(':')?, 2, 2)?;
    let (sec, mut s) = digits(s.strip_prefix(':')?, 2, 2)?;
    let mut frac = 0i64;
    if let Some(f) = s.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 6 {
            return None;
        }
        frac = f[..n].parse::<i64>().ok()? * 10i64.pow(6 - n as u32);
        s = &f[n..];
    }
    if h > 24 || mi > 59 || sec > 60 {
        return None;
    }
    let mut offset = 0i64;
    if let Some(sign) = s.bytes().next().filter(|b| *b == b'+' || *b == b'-') {
        if !tz {
            return None;
        }
        let (oh, mut r) = digits(&s[1..], 2, 2)?;
        let mut secs = oh * 3600;
        if let Some(x) = r.strip_prefix(':') {
            let (om, r2) = digits(x, 2, 2)?;
            secs += om * 60;
            r = r2;
            if let Some(x) = r.strip_prefix(':') {
                let (os, r3) = digits(x, 2, 2)?;
                secs += os;
                r = r3;
            }
        }
        offset = if sign == b'-' { -secs } else { secs };
        s = r;
    } else if tz {
        return None;
    }
    let bc = match s {
        "" => false,
        " BC" => true,
        _ => return None,
    };
    let secs = i128::from(days(y, mo, d, bc)) * 86_400 + i128::from(h * 3600 + mi * 60 + sec - offset);
    Some(Stamp::Micros(secs * 1_000_000 + i128::from(frac)))
}

/// Appends `ss[.ffffff]` with trailing fraction zeros dropped (PostgreSQL's AppendSeconds).
fn push_seconds(s: &mut String, sec: i64, frac_us: i64) {
    s.push_str(&format!("{:02}", sec.abs()));
    if frac_us != 0 {
        let f = format!(".{:06}", frac_us.abs());
        s.push_str(f.trim_end_matches('0'));
    }
}

/// `time` text: `HH:MM:SS[.ffffff]` from µs since midnight (0 to 24:00:00).
pub(super) fn time_text(us: i64) -> Option<String> {
    if !(0..=US_PER_DAY).contains(&us) {
        return None;
    }
    let secs = us / 1_000_000;
    let mut s = format!("{:02}:{:02}:", secs / 3600, secs / 60 % 60);
    push_seconds(&mut s, secs % 60, us % 1_000_000);
    Some(s)
}

/// Appends a timetz zone (seconds *west* of UTC on the wire) as `+HH[:MM[:SS]]`.
pub(super) fn push_zone(s: &mut String, zone_west: i32) {
    let a = zone_west.unsigned_abs();
    let (h, m, sec) = (a / 3600, a / 60 % 60, a % 60);
    s.push(if zone_west <= 0 { '+' } else { '-' });
    if sec != 0 {
        s.push_str(&format!("{h:02}:{m:02}:{sec:02}"));
    } else if m != 0 {
        s.push_str(&format!("{h:02}:{m:02}"));
    } else {
        s.push_str(&format!("{h:02}"));
    }
}

/// `interval` text in PostgreSQL's default IntervalStyle `postgres`:
/// `1 year 2 mons 3 days 04:05:06.789`, `-1 days +02:00:00`, `00:00:00`.
pub(super) fn interval_text(months: i32, days: i32, us: i64) -> String {
    let mut s = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |s: &mut String, v: i64, unit: &str| {
        if v == 0 {
            return;
        }
        if !is_zero {
            s.push(' ');
        }
        if is_before && v > 0 {
            s.push('+');
        }
        s.push_str(&format!("{v} {unit}{}", if v != 1 { "s" } else { "" }));
        is_before = v < 0;
        is_zero = false;
    };
    part(&mut s, i64::from(months / 12), "year");
    part(&mut s, i64::from(months % 12), "mon");
    part(&mut s, i64::from(days), "day");
    let hour = us / 3_600_000_000;
    let rest = us - hour * 3_600_000_000;
    let min = rest / 60_000_000;
    let rest = rest - min * 60_000_000;
    let sec = rest / 1_000_000;
    let frac = rest - sec * 1_000_000;
    if is_zero || us != 0 {
        let minus = hour < 0 || min < 0 || sec < 0 || frac < 0;
        if !is_zero {
            s.push(' ');
        }
        s.push_str(if minus {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        });
        s.push_str(&format!("{:02}:{:02}:", hour.unsigned_abs(), min.unsigned_abs()));
        push_seconds(&mut s, sec, frac);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), 10957);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 3, 1), 19783);
    }

    #[test]
    fn intervals() {
        let us = |h: i64, m: i64, s: i64, f: i64| ((h * 60 + m) * 60 + s) * 1_000_000 + f;
        assert_eq!(interval_text(14, 3, us(4, 5, 6, 789_000)), "1 year 2 mons 3 days 04:05:06.789");
        assert_eq!(interval_text(0, 0, 0), "00:00:00");
        assert_eq!(interval_text(1, 1, 0), "1 mon 1 day");
        assert_eq!(interval_text(0, -1, us(2, 0, 0, 0)), "-1 days +02:00:00");
        assert_eq!(interval_text(-14, 0, -us(1, 0, 0, 1)), "-1 years -2 mons -01:00:00.000001");
        assert_eq!(interval_text(0, 0, us(100, 0, 0, 0)), "100:00:00");
        assert_eq!(interval_text(12, -3, 0), "1 year -3 days");
        assert_eq!(interval_text(0, 0, -500_000), "-00:00:00.5");
        assert_eq!(
            interval_text(i32::MIN, i32::MIN, i64::MIN),
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808"
        );
    }

    #[test]
    fn times() {
        assert_eq!(time_text(0).unwrap(), "00:00:00");
        assert_eq!(time_text(US_PER_DAY).unwrap(), "24:00:00");
        assert_eq!(time_text(((4 * 60 + 5) * 60 + 6) * 1_000_000 + 789_000).unwrap(), "04:05:06.789");
        assert_eq!(time_text(-1), None);
        let mut s = String::new();
        push_zone(&mut s, -3600);
        push_zone(&mut s, 5 * 3600 + 30 * 60);
        push_zone(&mut s, 0);
        push_zone(&mut s, -(3600 + 61));
        assert_eq!(s, "+01-05:30+00+01:01:01");
    }

    #[test]
    fn text_timestamps() {
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000.0));
        assert_eq!(parse_date("infinity"), Some(f64::INFINITY));
        assert_eq!(parse_date("-infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_date("0001-01-01 BC"), Some((days_from_civil(0, 1, 1) * 86_400_000) as f64));
        assert_eq!(parse_date("01/02/2024"), None);
        assert_eq!(parse_timestamp("2000-01-01 00:00:00", false), Some(Stamp::Micros(946_684_800_000_000)));
        assert_eq!(
            parse_timestamp("2000-01-01 01:00:00.5+01", true),
            Some(Stamp::Micros(946_684_800_000_000 + 500_000))
        );
        assert_eq!(parse_timestamp("1970-01-01 00:00:00-05:30", true), Some(Stamp::Micros(19_800_000_000)));
        assert_eq!(parse_timestamp("1970-01-01 00:00:00+00", false), None);
        assert_eq!(parse_timestamp("1970-01-01 00:00:00", true), None);
        assert_eq!(Stamp::Micros(-1).split(), (-1.0, 999));
        assert_eq!(Stamp::from_pg_binary(i64::MAX).split(), (f64::INFINITY, 0));
    }
}

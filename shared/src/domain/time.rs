//! Timestamps as RFC 3339 UTC strings with milliseconds, which sort as they read.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, e.g. `2026-11-23T05:50:00.123Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format_millis(d.as_millis() as i64)
}

/// Milliseconds since the epoch now.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The reference framework's date-time, `Y-m-d H:i:s` (UTC).
pub fn framework_datetime(ms: i64) -> String {
    let t = format_millis(ms);
    format!("{} {}", &t[..10], &t[11..19])
}

/// Milliseconds since the epoch as RFC 3339 UTC (civil-from-days, proleptic Gregorian).
pub fn format_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Milliseconds since the epoch of a civil date and time (UTC).
pub fn millis_of(year: i64, month: i64, day: i64, h: i64, m: i64, sec: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + h * 3600 + m * 60 + sec) * 1000
}

/// A vendor's date or date-time (`2027-04-03`, `2027-04-03 10:00:00`, `2027-04-03T10:00:00Z`,
/// `2027-04-03T10:00:00.0+02:00`) as milliseconds since the epoch (offsets applied).
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if s.len() == 10 {
        return Some(millis_of(year, month, day, 0, 0, 0));
    }
    if !matches!(s.get(10..11)?, "T" | " ") || s.get(13..14)? != ":" || s.get(16..17)? != ":" {
        return None;
    }
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let minutes = o[1..3].parse::<i64>().ok()? * 60 + o[4..6].parse::<i64>().ok()?;
            if o.starts_with('-') { -minutes } else { minutes }
        }
        _ => return None,
    };
    Some(millis_of(year, month, day, h, m, sec) - offset * 60_000)
}

/// A vendor's date-time as the framework's `Y-m-d H:i:s` (UTC).
pub fn normalize_datetime(s: &str) -> Option<String> {
    parse_datetime(s).map(framework_datetime)
}

/// Seconds since the Unix epoch.
pub fn now_epoch() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::format_millis;

    #[test]
    fn parses_vendor_dates() {
        assert_eq!(super::normalize_datetime("2016-01-30T23:55:00+00:00").as_deref(), Some("2016-01-30 23:55:00"));
        assert_eq!(super::normalize_datetime("2027-04-03T10:00:00.0Z").as_deref(), Some("2027-04-03 10:00:00"));
        assert_eq!(super::normalize_datetime("2027-03-01T01:30:00+02:00").as_deref(), Some("2027-02-28 23:30:00"));
        assert_eq!(super::normalize_datetime("2027-04-03 10:00:00").as_deref(), Some("2027-04-03 10:00:00"));
        assert_eq!(super::normalize_datetime("2027-04-03").as_deref(), Some("2027-04-03 00:00:00"));
        assert_eq!(super::normalize_datetime("yesterday"), None);
        assert_eq!(super::parse_datetime("2026-11-23T00:00:00Z"), Some(1_795_392_000_000));
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_millis(1_795_392_000_123), "2026-11-23T00:00:00.123Z");
        assert_eq!(super::framework_datetime(1_795_392_000_123), "2026-11-23 00:00:00");
    }
}

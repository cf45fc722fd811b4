//! HTTP dates as a cache reads them (RFC 9110 5.6.7): the three forms, names in any case, the
//! weekday not checked; anything else (a doubled space, a missing zone) is not a date.
//!
//! ```
//! use netaccess_cache::dates::parse_http_date;
//! assert!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").is_some());
//! assert!(parse_http_date("sunday, 06-NOV-94 08:49:37 gmt").is_some());
//! assert!(parse_http_date("Thu Aug  8 02:01:18 2050").is_some()); // the wrong weekday
//! assert!(parse_http_date("Thu, 18  Aug  2050 02:01:18 GMT").is_none());
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const LONG_DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Parses an HTTP date leniently in case and weekday, strictly in layout.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    if let Ok(time) = httpdate::parse_http_date(text) {
        return Some(time);
    }
    let lower = text.trim().to_ascii_lowercase();
    let parts: Vec<&str> = lower.split(' ').collect();
    let (year, month, day, clock) = match parts.as_slice() {
        // IMF-fixdate: "sun, 06 nov 1994 08:49:37 gmt"
        [weekday, day, month, year, clock, "gmt"] if weekday.strip_suffix(',').is_some_and(|d| DAYS.contains(&d)) => {
            (number(year, 4)?, month_number(month)?, number(day, 2)?, *clock)
        }
        // RFC 850: "sunday, 06-nov-94 08:49:37 gmt"
        [weekday, date, clock, "gmt"] if weekday.strip_suffix(',').is_some_and(|d| LONG_DAYS.contains(&d)) => {
            let mut fields = date.split('-');
            let (day, month, year) = (fields.next()?, fields.next()?, fields.next()?);
            let year = number(year, 2)?;
            (if year < 70 { 2000 + year } else { 1900 + year }, month_number(month)?, number(day, 2)?, *clock)
        }
        // asctime: "sun nov  6 08:49:37 1994"
        [weekday, month, "", day, clock, year] if DAYS.contains(weekday) && day.len() == 1 => {
            (number(year, 4)?, month_number(month)?, number(day, 1)?, *clock)
        }
        [weekday, month, day, clock, year] if DAYS.contains(weekday) && day.len() == 2 => {
            (number(year, 4)?, month_number(month)?, number(day, 2)?, *clock)
        }
        _ => return None,
    };
    let mut clock = clock.split(':');
    let (hour, minute, second) = (number(clock.next()?, 2)?, number(clock.next()?, 2)?, number(clock.next()?, 2)?);
    if clock.next().is_some() || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days.checked_mul(86_400)? + i64::from(hour * 3600 + minute * 60 + second);
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

fn number(text: &str, digits: usize) -> Option<u32> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

fn month_number(name: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == name).and_then(|i| u32::try_from(i + 1).ok())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_httpdate_on_valid_dates() {
        for text in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            let expected = httpdate::parse_http_date(text).unwrap();
            assert_eq!(parse_http_date(&text.to_ascii_uppercase()), Some(expected), "{text}");
        }
        let leap = parse_http_date("thu, 29 feb 2024 12:00:00 gmt").unwrap();
        assert_eq!(leap, httpdate::parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT").unwrap());
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for text in [
            "",
            "0",
            "-1",
            "Thu, 18 Aug 2050 02:01:18",
            "Thu, 18 Aug 2050 25:01:18 GMT",
            "Thu, 18 Aug 2050 02:01:18 PST",
        ] {
            assert_eq!(parse_http_date(text), None, "{text:?}");
        }
    }
}

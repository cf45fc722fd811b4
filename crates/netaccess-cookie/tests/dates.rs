//! Every cookie-date vector of `tests/data/conformance/cookies/dates`.

use netaccess_cookie::date::{format_http_date, parse_cookie_date};

#[test]
fn every_shared_date_vector() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/conformance/cookies/dates");
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in ["examples.json", "bsd-examples.json"] {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("the shared cookie dates are in the repository ({file}): {e}"));
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for case in cases {
            let input = case["test"].as_str().unwrap();
            let expected = case["expected"].as_str();
            let got = parse_cookie_date(input).map(format_http_date);
            if got.as_deref() != expected {
                failures.push(format!("{file}: {input:?} gave {got:?}, expected {expected:?}"));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{} of {checked} date vectors failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(checked, 70);
}

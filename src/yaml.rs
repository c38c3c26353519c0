//! YAML output that YAML 1.1 readers parse the same way as YAML 1.2 readers.
//!
//! serde_norway writes YAML 1.2, where `Yes` and `No` are plain strings. Kubernetes tools and
//! PyYAML read YAML 1.1, where they are booleans, so a CRD enum of `Yes` and `No` would be
//! read as `true` and `false`. Every such plain scalar is quoted here.

use serde::Serialize;

/// Words that YAML 1.1 reads as booleans but YAML 1.2 reads as strings.
const YAML11_BOOLEANS: [&str; 16] = ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"];

/// Serializes `value` to YAML, quoting strings that YAML 1.1 would read as booleans.
pub fn to_yaml<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_norway::Error> {
    let text = serde_norway::to_string(value)?;
    Ok(quote_yaml11_booleans(&text))
}

/// Quotes plain scalars such as `No` in sequence items (`- No`) and mapping values (`key: No`).
fn quote_yaml11_booleans(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        output.push_str(&quote_line(body));
        output.push_str(newline);
    }
    output
}

fn quote_line(line: &str) -> String {
    let value_start = if let Some(position) = line.rfind(": ") {
        position + 2
    } else if let Some(stripped) = line.trim_start().strip_prefix("- ") {
        line.len() - stripped.len()
    } else {
        return line.to_string();
    };
    let value = &line[value_start..];
    if YAML11_BOOLEANS.contains(&value) {
        format!("{}'{value}'", &line[..value_start])
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_sequence_items_and_values() {
        let text = "enum:\n- Yes\n- WithChange\n- No\nretryable: No\nflag: true\nname: Nobody\n";
        let quoted = quote_yaml11_booleans(text);
        assert_eq!(quoted, "enum:\n- 'Yes'\n- WithChange\n- 'No'\nretryable: 'No'\nflag: true\nname: Nobody\n");
    }

    #[test]
    fn quoted_output_reads_back_the_same() {
        let value = serde_json::json!({"retryable": "No", "enum": ["Yes", "No"], "count": 2});
        let text = to_yaml(&value).unwrap();
        let back: serde_json::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}

//! docs/embedding.md quotes the example broker's code in its "A kafka-protocol
//! broker" section; each quoted block must still be in the file it names, so
//! the guide cannot drift from the code that runs in the e2e.

use std::path::Path;

fn normalise(s: &str) -> String {
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_kafka_protocol_section_quotes_the_example_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/embedding.md")).expect("docs/embedding.md");
    let start = doc
        .find("## A kafka-protocol broker")
        .expect("the kafka-protocol section");
    let section = &doc[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    let mut file: Option<String> = None;
    let mut checked = 0;
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(i) = line.find("`examples/broker/") {
            let rest = &line[i + 1..];
            file = rest.find('`').map(|j| rest[..j].to_owned());
        }
        if line.trim() == "```rust" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            let name = file.clone().expect("a block names its file before it");
            let source = std::fs::read_to_string(root.join(&name)).expect("the named file");
            assert!(
                normalise(&source).contains(&normalise(&block.join("\n"))),
                "a block quoted from {name} in docs/embedding.md is not in that file:\n{}",
                block.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} quoted blocks found");
}

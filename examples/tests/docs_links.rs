//! Every link of the README, the guide and the other Markdown a user reads resolves: a relative
//! link names a file or directory of the repository, and its `#anchor`, when it has one, a
//! heading of that file (as a code host makes anchors of headings). A link to this repository
//! on GitHub (`https://github.com/hetumind/hetumind-lambda-sdk/blob/main/PATH`, as the starter
//! crate's README, which leaves the repository, writes them) must name a file that exists here.
//! Other absolute links are not followed.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

#[path = "support/docs.rs"]
mod docs;

use docs::{readme_and_guide, workspace};

/// This repository's files as a code host serves them.
const REPOSITORY: &str = "https://github.com/hetumind/hetumind-lambda-sdk/blob/main/";

/// The Markdown files a user reads, relative to the workspace.
fn documents() -> Vec<PathBuf> {
    let mut files = readme_and_guide();
    files.extend(
        [
            "CHANGELOG.md",
            "nodes/README.md",
            "starter/README.md",
            "docs/reference/nodes.md",
        ]
        .map(PathBuf::from),
    );
    files
}

/// The anchors of a document: those a code host gives its headings (lower case, spaces as `-`,
/// punctuation other than `-` and `_` dropped; a repeated heading gets `-1`, `-2`, ...) and
/// the `id`s of its HTML tags.
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut found = HashSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(heading) = &mut heading {
                    heading.push_str(&text);
                }
            }
            // An anchor of its own: `<a id="name"></a>`.
            Event::Html(html) | Event::InlineHtml(html) => {
                found.extend(
                    html.split("id=\"")
                        .skip(1)
                        .filter_map(|rest| rest.split_once('"'))
                        .map(|(id, _)| id.to_owned()),
                );
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = heading.take().unwrap();
                let slug: String = text
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter_map(|c| match c {
                        ' ' => Some('-'),
                        c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                        _ => None,
                    })
                    .collect();
                let count = seen.entry(slug.clone()).or_default();
                found.insert(match *count {
                    0 => slug,
                    n => format!("{slug}-{n}"),
                });
                *count += 1;
            }
            _ => {}
        }
    }
    found
}

/// `path` with its `.` and `..` components resolved, without touching the file system.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with the link `target` of `document` (relative to `root`), if anything.
fn check(root: &Path, document: &Path, target: &str) -> Option<String> {
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let local = if let Some(path) = path.strip_prefix(REPOSITORY) {
        PathBuf::from(path)
    } else if path.contains("://") || path.starts_with("mailto:") {
        return None;
    } else if path.is_empty() {
        document.to_owned()
    } else {
        normalized(&document.parent().unwrap().join(path))
    };
    let file = root.join(&local);
    if !file.exists() {
        return Some(format!("{} does not exist", local.display()));
    }
    if anchor.is_empty() || file.extension().is_none_or(|ext| ext != "md") {
        return None;
    }
    let headings = anchors(&std::fs::read_to_string(&file).unwrap());
    (!headings.contains(anchor)).then(|| {
        format!(
            "{} has no heading whose anchor is #{anchor}",
            local.display()
        )
    })
}

#[test]
fn every_link_of_the_documentation_resolves() {
    let root = workspace();
    let mut broken = Vec::new();
    let mut checked = 0;
    for document in documents() {
        let markdown = std::fs::read_to_string(root.join(&document)).unwrap();
        for (event, range) in Parser::new(&markdown).into_offset_iter() {
            if let Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) = event {
                checked += 1;
                if let Some(problem) = check(&root, &document, &dest_url) {
                    let line = markdown[..range.start].lines().count().max(1);
                    broken.push(format!(
                        "{}:{line}: ({dest_url}) {problem}",
                        document.display()
                    ));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: is the parser reading the documents?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_made_as_a_code_host_makes_them() {
    let found = anchors(
        "# The `#[node]` attribute\n## Arguments: roles, any order\n## Notes\n## Notes\n\
         - <a id=\"own\"></a>**Own** anchor\n",
    );
    let mut found: Vec<_> = found.into_iter().collect();
    found.sort();
    assert_eq!(
        found,
        [
            "arguments-roles-any-order",
            "notes",
            "notes-1",
            "own",
            "the-node-attribute"
        ]
    );
}

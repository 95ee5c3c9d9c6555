//! `proxyd.toml(5)`: the config reference as a man page, generated from
//! `docs/config.md` so the two cannot drift.
//!
//! The converter knows the Markdown that file uses and nothing more:
//! headings, paragraphs, `-` lists, fenced code and tables. A table row
//! becomes a tagged paragraph: its first cell is the tag, the middle cells
//! become `header: value` notes, and the last cell is the text.

/// Renders `markdown` (the text of `docs/config.md`) as a roff man page.
pub fn render(markdown: &str, version: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        ".TH PROXYD.TOML 5 \"\" \"proxyd {version}\" \"File Formats\"\n"
    ));
    out.push_str(".SH NAME\nproxyd.toml \\- configuration file of proxyd(8)\n");
    out.push_str(".SH SYNOPSIS\n/etc/proxyd/proxyd.toml\n");

    let mut table_header: Option<Vec<String>> = None;
    let mut in_code = false;
    let mut in_list = false;
    let mut paragraph = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            out.push_str(if in_code {
                ".PP\n.RS 4\n.nf\n"
            } else {
                ".fi\n.RE\n"
            });
            paragraph = false;
            continue;
        }
        if in_code {
            out.push_str(&escape_line(line));
            out.push('\n');
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            table_header = None;
            in_list = false;
            paragraph = false;
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("# ") {
            // The document title: the man page has its own NAME line.
            out.push_str(&format!(".SH DESCRIPTION\n.PP\n{}\n", inline(title)));
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("### ") {
            out.push_str(&format!(".SS {}\n", inline(title)));
            paragraph = false;
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("## ") {
            out.push_str(&format!(".SH {}\n", inline(&title.to_uppercase())));
            paragraph = false;
            continue;
        }
        if trimmed.starts_with('|') {
            let cells = split_row(trimmed);
            if cells
                .iter()
                .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':')))
            {
                continue; // the |---|---| separator
            }
            match &table_header {
                None => table_header = Some(cells),
                Some(header) => out.push_str(&table_row(header, &cells)),
            }
            paragraph = false;
            continue;
        }
        if let Some(item) = trimmed.strip_prefix("- ") {
            out.push_str(&format!(".IP \\(bu 2\n{}\n", inline(item)));
            in_list = true;
            continue;
        }
        if in_list {
            // A continuation line of a list item.
            out.push_str(&inline(trimmed));
            out.push('\n');
            continue;
        }
        if !paragraph {
            out.push_str(".PP\n");
            paragraph = true;
        }
        out.push_str(&inline(trimmed));
        out.push('\n');
    }
    out.push_str(".SH SEE ALSO\nproxyd(8), proxyctl(8)\n");
    out
}

fn split_row(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    // `\|` inside a cell is a literal bar.
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cur.push('|');
                chars.next();
            }
            '|' => cells.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

fn table_row(header: &[String], cells: &[String]) -> String {
    let mut out = String::from(".TP\n");
    out.push_str(&inline(cells.first().map_or("", String::as_str)));
    out.push('\n');
    let last = cells.len().saturating_sub(1);
    let mut notes = Vec::new();
    for (i, cell) in cells.iter().enumerate().take(last).skip(1) {
        if !cell.is_empty() {
            let name = header.get(i).map_or("", String::as_str);
            notes.push(format!("{}: {}", inline(name), inline(cell)));
        }
    }
    let text = if last > 0 {
        inline(&cells[last])
    } else {
        String::new()
    };
    match (notes.is_empty(), text.is_empty()) {
        (true, _) => out.push_str(&text),
        (false, true) => out.push_str(&notes.join("; ")),
        (false, false) => out.push_str(&format!("{}.\n.br\n{text}", notes.join("; "))),
    }
    out.push('\n');
    out
}

/// Markdown inline markup → roff: `code` and **bold** in bold, links as their
/// text, backslashes and hyphens escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut bold = false;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("**") {
            out.push_str(if bold { "\\fR" } else { "\\fB" });
            bold = !bold;
            rest = &rest[2..];
        } else if c == '`' {
            match rest[1..].find('`') {
                Some(end) => {
                    out.push_str("\\fB");
                    out.push_str(&escape(&rest[1..1 + end]));
                    out.push_str("\\fR");
                    rest = &rest[end + 2..];
                }
                None => {
                    out.push('`');
                    rest = &rest[1..];
                }
            }
        } else if c == '[' {
            // [text](target) → text
            match (rest.find("]("), rest.find(')')) {
                (Some(mid), Some(end)) if mid < end => {
                    out.push_str(&inline(&rest[1..mid]));
                    rest = &rest[end + 1..];
                }
                _ => {
                    out.push('[');
                    rest = &rest[1..];
                }
            }
        } else {
            out.push_str(&escape(&rest[..c.len_utf8()]));
            rest = &rest[c.len_utf8()..];
        }
    }
    if bold {
        out.push_str("\\fR");
    }
    // A line starting with `.` or `'` would be read as a request.
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

fn escape_line(line: &str) -> String {
    let out = escape(line);
    if out.starts_with('.') || out.starts_with('\'') {
        format!("\\&{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_tables_lists_and_inline_markup() {
        let md = "# Title\n\nSome `code` and **bold**, a [link](x.md).\n\n## `[admin]` (static)\n\n| key | type | default | meaning |\n|---|---|---|---|\n| `socket` | string | `\"/run/a.sock\"` | admin socket; `\"\"` disables |\n\n- one\n  more\n- two\n\n```toml\n.x = 1\n```\n";
        let man = render(md, "1.2.3");
        assert!(
            man.starts_with(".TH PROXYD.TOML 5 \"\" \"proxyd 1.2.3\""),
            "{man}"
        );
        assert!(
            man.contains("Some \\fBcode\\fR and \\fBbold\\fR, a link."),
            "{man}"
        );
        assert!(man.contains(".SH \\fB[ADMIN]\\fR (STATIC)\n"), "{man}");
        assert!(man.contains(".TP\n\\fBsocket\\fR\ntype: string; default: \\fB\"/run/a.sock\"\\fR.\n.br\nadmin socket; \\fB\"\"\\fR disables\n"), "{man}");
        assert!(
            man.contains(".IP \\(bu 2\none\nmore\n.IP \\(bu 2\ntwo\n"),
            "{man}"
        );
        assert!(man.contains(".nf\n\\&.x = 1\n.fi\n"), "{man}");
        assert!(!man.contains("|---"), "{man}");
    }
}

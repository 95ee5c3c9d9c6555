//! Output: where text and JSON go, colour, and the comfy-table style.
//!
//! [`Output`] is the only thing commands write through. It knows whether
//! `--json` is on (then stdout gets exactly one JSON document and the
//! human text is suppressed), whether colour is allowed (a terminal and no
//! `NO_COLOR`), and whether a JSON document was already written, so that
//! [`Output::report`] never prints a second one when a command fails after
//! printing its own result (a rejected reload prints the daemon's reply).
//!
//! JSON documents are written compact, on one line. The daemon's replies are
//! passed through byte for byte, so fields this proxyctl does not know are
//! kept.

pub mod check;
pub mod reload;
pub mod status;
pub mod time;

use std::io::Write;

use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde::Serialize;

use crate::error::CtlError;

/// A colour for words that carry a verdict (health, readiness, expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Healthy, ready, ok.
    Good,
    /// Worth a look (expiring soon, draining).
    Warn,
    /// Down, failed, expired.
    Bad,
}

impl Tone {
    fn ansi(self) -> &'static str {
        match self {
            Tone::Good => "\x1b[32m",
            Tone::Warn => "\x1b[33m",
            Tone::Bad => "\x1b[31m",
        }
    }

    fn table_colour(self) -> Color {
        match self {
            Tone::Good => Color::Green,
            Tone::Warn => Color::Yellow,
            Tone::Bad => Color::Red,
        }
    }
}

/// `{"status":"error","message":..}`: what `--json` prints when proxyctl
/// itself fails; the same shape as a daemon error reply.
#[derive(Serialize)]
struct ErrorDoc<'m> {
    status: &'static str,
    message: &'m str,
}

/// Where a command's results go.
pub struct Output<'a> {
    json: bool,
    colour: bool,
    layout: Layout,
    json_written: bool,
    stdout: &'a mut dyn Write,
    stderr: &'a mut dyn Write,
}

impl<'a> Output<'a> {
    /// `json`: `--json` was given; `colour`: stdout is a terminal and
    /// `NO_COLOR` is not set; `layout`: how wide tables may be.
    pub fn new(
        json: bool,
        colour: bool,
        layout: Layout,
        stdout: &'a mut dyn Write,
        stderr: &'a mut dyn Write,
    ) -> Self {
        Output {
            json,
            colour: colour && !json,
            layout,
            json_written: false,
            stdout,
            stderr,
        }
    }

    /// True when `--json` is on.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Writes human text to stdout (nothing in `--json` mode).
    pub fn text(&mut self, text: &str) -> Result<(), CtlError> {
        if self.json {
            return Ok(());
        }
        self.stdout
            .write_all(text.as_bytes())
            .map_err(CtlError::Output)
    }

    /// Writes a diagnostic or warning to stderr (in both modes).
    pub fn note(&mut self, text: &str) -> Result<(), CtlError> {
        self.stderr
            .write_all(text.as_bytes())
            .map_err(CtlError::Output)
    }

    /// Writes `value` as the one JSON document of this run.
    pub fn json<T: Serialize>(&mut self, value: &T) -> Result<(), CtlError> {
        let line =
            serde_json::to_string(value).map_err(|e| CtlError::Output(std::io::Error::other(e)))?;
        self.json_line(&line)
    }

    /// Writes a line that already is JSON (a daemon reply) as the document.
    pub fn json_line(&mut self, line: &str) -> Result<(), CtlError> {
        self.json_written = true;
        writeln!(self.stdout, "{line}").map_err(CtlError::Output)
    }

    /// Reports a failed command: the sentence on stderr and, in `--json`
    /// mode when nothing was printed yet, `{"status":"error","message":..}`
    /// on stdout. Errors while reporting are ignored: there is nowhere left
    /// to report them.
    pub fn report(&mut self, error: &CtlError) {
        if error.is_silent() {
            return;
        }
        let message = error.to_string();
        let _ = writeln!(self.stderr, "{message}");
        if self.json && !self.json_written {
            let doc = ErrorDoc {
                status: "error",
                message: &message,
            };
            if let Ok(line) = serde_json::to_string(&doc) {
                let _ = writeln!(self.stdout, "{line}");
            }
            self.json_written = true;
        }
        let _ = self.stdout.flush();
        let _ = self.stderr.flush();
    }

    /// `text` in `tone`'s colour when colour is on.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        if self.colour {
            format!("{}{text}\x1b[0m", tone.ansi())
        } else {
            text.to_string()
        }
    }

    /// A cell holding `text`, coloured when colour is on.
    pub fn cell(&self, text: &str, tone: Option<Tone>) -> Cell {
        match tone {
            Some(tone) if self.colour => Cell::new(text).fg(tone.table_colour()),
            _ => Cell::new(text),
        }
    }

    /// An empty table in our style: no borders, aligned columns, an upper-case
    /// header. On a terminal (or with `COLUMNS` set) wide cells wrap to fit
    /// the width; into a pipe rows are never wrapped, so `grep` gets whole rows.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table
            .load_preset(comfy_table::presets::NOTHING)
            .set_header(header.iter().copied().map(Cell::new));
        match self.layout {
            Layout::Unbounded => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
            Layout::Terminal => {
                table.set_content_arrangement(ContentArrangement::Dynamic);
            }
            Layout::Columns(width) => {
                table
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(width);
            }
        }
        if self.colour {
            table.enforce_styling();
        } else if self.layout != Layout::Terminal {
            table.force_no_tty();
        }
        table
    }
}

/// How wide human output may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Not a terminal: never wrap.
    Unbounded,
    /// A terminal: wrap to its width (detected by comfy-table).
    Terminal,
    /// `COLUMNS` says how wide (also honoured when not a terminal).
    Columns(u16),
}

impl Layout {
    /// `COLUMNS` (if a sane number) wins; else a terminal wraps, a pipe does not.
    pub fn detect(stdout_is_terminal: bool) -> Self {
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|&c| c >= 20);
        match columns {
            Some(c) => Layout::Columns(c),
            None if stdout_is_terminal => Layout::Terminal,
            None => Layout::Unbounded,
        }
    }
}

/// Renders a table without the padding comfy-table leaves at the start and
/// end of each line, followed by a newline.
pub fn table_text(table: &Table) -> String {
    let mut out = String::new();
    for line in table.lines() {
        let line = line.strip_prefix(' ').unwrap_or(&line).trim_end();
        if line.is_empty() {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health_table(colour: bool) -> String {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let out = Output::new(false, colour, Layout::Unbounded, &mut o, &mut e);
        let mut table = out.table(&["HEALTH"]);
        table.add_row(vec![out.cell("healthy", Some(Tone::Good))]);
        format!("{}{}", table_text(&table), out.paint("ready", Tone::Good))
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(health_table(true).contains("\x1b["));
        assert!(!health_table(false).contains('\x1b'));
        assert_eq!(health_table(false), "HEALTH\nhealthy\nready");
    }

    #[test]
    fn json_mode_never_colours_and_reports_one_document() {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        {
            let mut out = Output::new(true, true, Layout::Unbounded, &mut o, &mut e);
            assert_eq!(out.paint("x", Tone::Bad), "x");
            out.json_line(r#"{"status":"error","message":"m"}"#)
                .unwrap();
            out.report(&CtlError::Daemon {
                command: "reload",
                message: "m".into(),
            });
        }
        assert_eq!(String::from_utf8(o).unwrap().lines().count(), 1);
        assert!(String::from_utf8(e)
            .unwrap()
            .contains("proxyd refused `reload`: m"));
    }
}

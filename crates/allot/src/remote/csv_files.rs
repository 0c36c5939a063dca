//! The CSV files the imports read: a header naming known columns, then rows, each known by
//! its row number as a spreadsheet shows it (the header is row 1). A file that is wrong is
//! refused whole, naming the row and the column, before anything is sent.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};

/// A file's rows, by the columns its header names.
pub struct Sheet {
    pub name: String,
    columns: Vec<String>,
    pub rows: Vec<Row>,
}

pub struct Row {
    /// The row number: the header is row 1.
    pub number: u64,
    cells: Vec<String>,
}

impl Sheet {
    /// Reads `path`: its header must name only `known` columns, `required` among them.
    pub fn read(path: &Path, known: &[&str], required: &[&str]) -> Result<Self> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
        // Row numbers from byte offsets: the reader's own line count skips blank lines.
        let line_starts: Vec<u64> = std::iter::once(0)
            .chain(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i as u64 + 1))
            .collect();
        let row_at = |position: &csv::Position| {
            // A record's position is where the blank lines before it begin.
            let blank = bytes.iter().skip(position.byte() as usize).take_while(|b| matches!(b, b'\r' | b'\n'));
            let start = position.byte() + blank.count() as u64;
            line_starts.partition_point(|line| *line <= start) as u64
        };
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes.as_slice());
        let columns: Vec<String> = reader
            .headers()
            .with_context(|| format!("{name}: row 1 is not a CSV header"))?
            .iter()
            .map(|c| c.trim_start_matches('\u{feff}').to_lowercase())
            .collect();
        for (i, column) in columns.iter().enumerate() {
            if !known.contains(&column.as_str()) {
                bail!("{name}, row 1, column {}: `{column}` is not a column (they are {})", i + 1, known.join(", "));
            }
            if columns[..i].contains(column) {
                bail!("{name}, row 1, column {}: `{column}` is named twice", i + 1);
            }
        }
        if let Some(missing) = required.iter().find(|r| !columns.iter().any(|c| c == *r)) {
            bail!("{name}, row 1: the column `{missing}` is missing");
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|error| {
                let row = error.position().map_or(String::new(), |p| format!(", row {}", row_at(p)));
                anyhow!("{name}{row}: {error}")
            })?;
            let number = record.position().map_or(0, row_at);
            if record.iter().all(str::is_empty) {
                continue;
            }
            rows.push(Row { number, cells: record.iter().map(str::to_owned).collect() });
        }
        Ok(Self { name, columns, rows })
    }

    /// Whether the header names `column`.
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    /// `row`'s cell in `column`, if the file has the column and the cell is not empty.
    pub fn get<'r>(&self, row: &'r Row, column: &str) -> Option<&'r str> {
        let index = self.columns.iter().position(|c| c == column)?;
        row.cells.get(index).map(String::as_str).filter(|cell| !cell.is_empty())
    }

    /// An error about `row`'s cell in `column`.
    pub fn wrong(&self, row: &Row, column: &str, why: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("{}, row {}, column `{column}`: {why}", self.name, row.number)
    }
}

#[cfg(test)]
mod tests {
    use super::Sheet;

    fn sheet(text: &str) -> anyhow::Result<Sheet> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(&path, text).unwrap();
        Sheet::read(&path, &["id", "name", "groups"], &["id"])
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        let read = sheet("id,name\nana,Ana\n\nben, Ben \n").unwrap();
        let rows: Vec<(u64, Option<&str>)> = read.rows.iter().map(|r| (r.number, read.get(r, "name"))).collect();
        assert_eq!(rows, [(2, Some("Ana")), (4, Some("Ben"))], "blank rows are skipped, cells trimmed");
        assert!(read.has("name") && !read.has("groups"));
    }

    #[test]
    fn a_wrong_file_is_refused_naming_the_row_and_column() {
        let error = |text: &str| sheet(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error("id,colour\n").contains("row 1, column 2: `colour` is not a column"), "{}", error("id,colour\n"));
        assert!(error("name\nAna\n").contains("the column `id` is missing"));
        assert!(error("id,id\n").contains("named twice"));
        assert!(error("id,name\nana,Ana,extra\n").contains("row 2"), "{}", error("id,name\nana,Ana,extra\n"));
    }
}

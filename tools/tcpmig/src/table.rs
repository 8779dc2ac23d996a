//! Plain text tables: a header and rows, each column as wide as its
//! widest cell, one space between columns, the last column unpadded.

pub fn columns(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<&str> = cells.collect();
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out += cell;
            } else {
                out += &format!("{cell:w$} ");
            }
        }
        out + "\n"
    };
    let mut out = line(&mut head.iter().copied());
    for row in rows {
        out += &line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align() {
        let rows = vec![
            vec!["a".to_string(), "long cell".into(), "x".into()],
            vec!["bbbbbb".to_string(), "c".into(), "yyyyy".into()],
        ];
        assert_eq!(
            columns(&["H1", "H2", "H3"], &rows),
            "H1     H2        H3\n\
             a      long cell x\n\
             bbbbbb c         yyyyy\n"
        );
        assert_eq!(columns(&["ONLY"], &[]), "ONLY\n");
    }
}

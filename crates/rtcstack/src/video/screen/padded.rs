//! A picture fitted to the size its track keeps: a window that grew since
//! the share began is cut to it, one that shrank sits top left on black.

/// A picture `width` pixels wide (4 bytes each) at the top left of a black
/// one of `size`.
pub(super) fn padded(part: Vec<u8>, width: u32, size: (u32, u32)) -> Vec<u8> {
    let row = size.0 as usize * 4;
    let part_row = width as usize * 4;
    if part_row == row && part.len() == row * size.1 as usize {
        return part;
    }
    let mut whole = vec![0u8; row * size.1 as usize];
    if part_row == 0 {
        return whole;
    }
    for (y, src) in part
        .chunks_exact(part_row)
        .take(size.1 as usize)
        .enumerate()
    {
        let n = src.len().min(row);
        whole[y * row..y * row + n].copy_from_slice(&src[..n]);
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn a_shrunk_window_sits_top_left_on_black() {
        // 1x2 of 7s into 2x3.
        let whole = padded(vec![7; 8], 1, (2, 3));
        assert_eq!(
            whole,
            [[7, 7, 7, 7, 0, 0, 0, 0], [7, 7, 7, 7, 0, 0, 0, 0], [0; 8]].concat()
        );
    }

    #[test]
    fn a_window_of_the_shared_size_is_kept_as_it_is() {
        let same: Vec<u8> = (0..16).collect();
        assert_eq!(padded(same.clone(), 2, (2, 2)), same);
    }
}

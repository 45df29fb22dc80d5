//! Binary `numeric` to PostgreSQL's text output.
//!
//! Wire format: ndigits i16, weight i16 (of the first base-10000 digit), sign u16,
//! dscale u16 (digits after the decimal point), then ndigits base-10000 digits as i16.

const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;

/// The decimal text of a binary numeric, as `numeric_out` prints it; `None` if malformed.
pub(super) fn binary_to_text(v: &[u8]) -> Option<String> {
    let (h, rest) = v.split_first_chunk::<8>()?;
    let ndigits = i16::from_be_bytes([h[0], h[1]]);
    let weight = i32::from(i16::from_be_bytes([h[2], h[3]]));
    let sign = u16::from_be_bytes([h[4], h[5]]);
    let dscale = u16::from_be_bytes([h[6], h[7]]);
    match sign {
        NAN => return rest.is_empty().then(|| "NaN".to_string()),
        PINF => return rest.is_empty().then(|| "Infinity".to_string()),
        NINF => return rest.is_empty().then(|| "-Infinity".to_string()),
        POS | NEG => {}
        _ => return None,
    }
    // PostgreSQL caps the display scale at 0x3FFF (NUMERIC_DSCALE_MAX).
    if ndigits < 0 || rest.len() != 2 * ndigits as usize || dscale > 0x3FFF {
        return None;
    }
    let digits: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
    if digits.iter().any(|d| *d > 9999) {
        return None;
    }
    let digit = |i: i32| -> u16 {
        if i >= 0 && (i as usize) < digits.len() {
            digits[i as usize]
        } else {
            0
        }
    };
    let mut s = String::new();
    if sign == NEG {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            let d = digit(i);
            if i == 0 {
                s.push_str(&d.to_string());
            } else {
                s.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let start = s.len();
        let mut i = weight + 1;
        while s.len() - start < usize::from(dscale) {
            s.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        s.truncate(start + usize::from(dscale));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(digits.len() as i16).to_be_bytes());
        v.extend_from_slice(&weight.to_be_bytes());
        v.extend_from_slice(&sign.to_be_bytes());
        v.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics() {
        let t = |w, s, d, g: &[u16]| binary_to_text(&num(w, s, d, g)).unwrap();
        // What numeric_send produces for these values (checked against PostgreSQL 15).
        assert_eq!(t(0, POS, 0, &[]), "0");
        assert_eq!(t(0, POS, 2, &[]), "0.00");
        assert_eq!(t(0, POS, 0, &[1]), "1");
        assert_eq!(t(0, NEG, 3, &[12, 3450]), "-12.345");
        assert_eq!(t(1, POS, 0, &[1, 0]), "10000");
        assert_eq!(t(2, POS, 0, &[1]), "100000000");
        assert_eq!(t(-1, POS, 4, &[1]), "0.0001");
        assert_eq!(t(-2, POS, 6, &[5000]), "0.000050");
        assert_eq!(t(0, POS, 1, &[3, 1415]), "3.1");
        assert_eq!(t(4, POS, 0, &[1, 2345, 6789, 123, 4567]), "12345678901234567");
        assert_eq!(t(0, NAN, 0, &[]), "NaN");
        assert_eq!(t(0, PINF, 0, &[]), "Infinity");
        assert_eq!(t(0, NINF, 0, &[]), "-Infinity");
        assert_eq!(binary_to_text(&num(0, 0x1234, 0, &[])), None);
        assert_eq!(binary_to_text(&num(0, POS, 0, &[10000])), None);
        assert_eq!(binary_to_text(&[0, 1, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(binary_to_text(&num(0, POS, 0x4000, &[])), None);
    }
}

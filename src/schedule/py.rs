//! Python's float and int arithmetic where it differs from Rust's operators: division and modulo
//! by zero raise (`ZeroDivisionError`) instead of giving inf/NaN, `%` and `//` round toward
//! negative infinity, `**` refuses `0.0 ** -x`, and `max` keeps its first argument on ties and
//! NaN. The error is PyTorch's exception text; the caller names the scheduler and the step.

/// An exception PyTorch would raise, as its message.
pub(super) type PyResult<T> = std::result::Result<T, String>;

/// `a / b` on floats (an int operand is converted first, exactly for |x| <= 2^53, as Python does).
pub(super) fn div(a: f64, b: f64) -> PyResult<f64> {
    if b == 0.0 {
        return Err("ZeroDivisionError: float division by zero".into());
    }
    Ok(a / b)
}

/// `a % b` on ints: the result takes the divisor's sign.
pub(super) fn rem(a: i64, b: i64) -> PyResult<i64> {
    if b == 0 {
        return Err("ZeroDivisionError: integer modulo by zero".into());
    }
    let r = a % b;
    Ok(if r != 0 && (r < 0) != (b < 0) {
        r + b
    } else {
        r
    })
}

/// `a // b` on ints: rounds toward negative infinity.
pub(super) fn floor_div(a: i64, b: i64) -> PyResult<i64> {
    let r = rem(a, b)?;
    Ok((a - r) / b)
}

/// `a ** b` with a float base (and an int exponent converted to float, as `float.__pow__` does):
/// C's `pow`, which CPython calls, after CPython's own refusals.
pub(super) fn pow(a: f64, b: f64) -> PyResult<f64> {
    if a == 0.0 && b < 0.0 {
        return Err("ZeroDivisionError: 0.0 cannot be raised to a negative power".into());
    }
    if a < 0.0 && a.is_finite() && b.is_finite() && b.fract() != 0.0 {
        return Err("a negative number to a fractional power gives a complex number".into());
    }
    Ok(a.powf(b))
}

/// `max(a, b)`: `b` only if `b > a`.
pub(super) fn max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// `bisect.bisect_right(a, x)`, the same binary search (so an unsorted list gives what Python's
/// gives).
pub(super) fn bisect_right(a: &[i64], x: i64) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < a[mid] {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_semantics() {
        assert_eq!(rem(-5, 10), Ok(5));
        assert_eq!(rem(5, -10), Ok(-5));
        assert_eq!(rem(-10, 5), Ok(0));
        assert_eq!(floor_div(-1, 3), Ok(-1));
        assert_eq!(floor_div(7, 3), Ok(2));
        assert!(rem(1, 0).is_err());
        assert!(div(1.0, 0.0).is_err());
        assert!(div(1.0, -0.0).is_err());
        assert!(pow(0.0, -1.0).is_err());
        assert!(pow(-8.0, 1.0 / 3.0).is_err());
        assert_eq!(pow(-2.0, 3.0), Ok(-8.0));
        assert!(max(f64::NAN, 1.0).is_nan());
        assert_eq!(max(1.0, f64::NAN), 1.0);
        assert_eq!(bisect_right(&[5, 10, 10], 10), 3);
        assert_eq!(bisect_right(&[5, 10], 4), 0);
    }
}

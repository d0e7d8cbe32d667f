//! A pane's scroll position: following the tail (the default, and while streaming), or held at
//! a line counted from the top so that new text arriving below does not move what is read.

/// Where a pane is scrolled to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scroll {
    /// Show the last lines, whatever arrives.
    pub follow: bool,
    /// First line shown when not following.
    pub top: usize,
}

impl Default for Scroll {
    fn default() -> Self {
        Scroll::FOLLOW
    }
}

impl Scroll {
    pub const FOLLOW: Scroll = Scroll {
        follow: true,
        top: 0,
    };

    /// Held at the first line.
    pub const TOP: Scroll = Scroll {
        follow: false,
        top: 0,
    };

    /// The first line to show of `total` lines in a window of `height`.
    pub fn first_line(&self, total: usize, height: usize) -> usize {
        let last_top = total.saturating_sub(height);
        if self.follow {
            last_top
        } else {
            self.top.min(last_top)
        }
    }

    /// Moves by `delta` lines (negative: up). Moving up stops following; reaching the bottom
    /// follows again.
    pub fn by(&mut self, delta: isize, total: usize, height: usize) {
        let last_top = total.saturating_sub(height);
        let from = self.first_line(total, height);
        let to = if delta < 0 {
            from.saturating_sub(delta.unsigned_abs())
        } else {
            from.saturating_add(delta.unsigned_abs()).min(last_top)
        };
        *self = if to >= last_top {
            Scroll::FOLLOW
        } else {
            Scroll {
                follow: false,
                top: to,
            }
        };
    }

    /// Holds at line `top`.
    pub fn hold(top: usize) -> Scroll {
        Scroll { follow: false, top }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_up_pauses_following_and_the_bottom_resumes_it() {
        let mut s = Scroll::FOLLOW;
        assert_eq!(s.first_line(100, 10), 90);
        s.by(-5, 100, 10);
        assert_eq!(s, Scroll::hold(85));
        // New lines below do not move what is shown.
        assert_eq!(s.first_line(200, 10), 85);
        s.by(3, 100, 10);
        assert_eq!(s.first_line(100, 10), 88);
        s.by(50, 100, 10);
        assert!(s.follow);
        s.by(-500, 100, 10);
        assert_eq!(s, Scroll::TOP);
    }

    #[test]
    fn short_content_always_follows() {
        let mut s = Scroll::FOLLOW;
        s.by(-3, 4, 10);
        assert!(s.follow);
        assert_eq!(s.first_line(4, 10), 0);
        assert_eq!(Scroll::hold(50).first_line(20, 10), 10);
    }
}

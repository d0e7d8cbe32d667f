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
        self.by_to(delta, total, total, height);
    }

    /// [`Scroll::by`] where following shows the lines up to `end` (at most `total`), not to the
    /// last: reaching that point follows again; below it, the position is held.
    pub fn by_to(&mut self, delta: isize, total: usize, end: usize, height: usize) {
        let last_top = total.saturating_sub(height);
        let follow_top = end.min(total).saturating_sub(height);
        let from = if self.follow {
            follow_top
        } else {
            self.top.min(last_top)
        };
        let to = if delta < 0 {
            from.saturating_sub(delta.unsigned_abs())
        } else {
            from.saturating_add(delta.unsigned_abs()).min(last_top)
        };
        *self = if to == follow_top {
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
    fn following_short_of_the_end_holds_below_it_and_follows_again_there() {
        // 100 lines, following shows up to line 80 in a window of 10.
        let mut s = Scroll::FOLLOW;
        s.by_to(-5, 100, 80, 10);
        assert_eq!(s, Scroll::hold(65));
        s.by_to(5, 100, 80, 10);
        assert!(s.follow, "back at the followed point");
        s.by_to(3, 100, 80, 10);
        assert_eq!(s, Scroll::hold(73), "below it: held, the rest can be read");
        s.by_to(50, 100, 80, 10);
        assert_eq!(s, Scroll::hold(90), "the very end, held");
        s.by_to(-20, 100, 80, 10);
        assert!(s.follow);
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

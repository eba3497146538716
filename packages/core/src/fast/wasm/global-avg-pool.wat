;; Global average pooling (a ResNet's head): each plane of S floats to its mean, and the pullback that spreads each mean's
;; gradient back over its plane; a thread's share is a range of planes [p0, p1).

  ;; y[p] = f32(sum / S) with sum = x[p S] + x[p S + 1] + ... + x[p S + S - 1] added in f64 from +0 in that order, the
  ;; division in f64 and one rounding to f32 (the reference's JavaScript: its sum and quotient are doubles, stored into a
  ;; Float32Array). Eight planes at a time, in pairs: a pair's f64x2 sum takes element s of both planes side by side
  ;; (interleaved from four of each plane's elements, then widened two at a time; a plane's last S mod 4 elements one
  ;; pair at a time), so each lane adds its own plane's elements in order, and the four pairs' sums are independent
  ;; chains. The planes past a multiple of 8 go one at a time.
  (func $globalAvgPoolPlanes (export "globalAvgPoolPlanes")
    (param $p0 i32) (param $p1 i32) (param $x i32) (param $S i32) (param $y i32)
    (local $p i32) (local $q i32) (local $end i32) (local $end4 i32) (local $b i32) (local $w i32) (local $fs f64) (local $fs2 v128) (local $s f64)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $o4 i32) (local $o5 i32) (local $o6 i32) (local $o7 i32)
    (local $a v128) (local $c v128) (local $lo v128) (local $hi v128) (local $A0 v128) (local $A1 v128) (local $A2 v128) (local $A3 v128)
    ;; $b bytes a plane, $o<i> the bytes from the first plane of eight to plane i's same element
    (local.set $b (i32.shl (local.get $S) (i32.const 2)))
    (local.set $o0 (i32.const 0))
    (local.set $o1 (local.get $b))
    (local.set $o2 (i32.add (local.get $o1) (local.get $b)))
    (local.set $o3 (i32.add (local.get $o2) (local.get $b)))
    (local.set $o4 (i32.add (local.get $o3) (local.get $b)))
    (local.set $o5 (i32.add (local.get $o4) (local.get $b)))
    (local.set $o6 (i32.add (local.get $o5) (local.get $b)))
    (local.set $o7 (i32.add (local.get $o6) (local.get $b)))
    (local.set $fs (f64.convert_i32_u (local.get $S)))
    (local.set $fs2 (f64x2.splat (local.get $fs)))
    (local.set $p (local.get $p0))
    (block $groupsDone
      (loop $group
        (br_if $groupsDone (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $p1)))
        (local.set $q (i32.add (local.get $x) (i32.mul (local.get $p) (local.get $b))))
        (local.set $end (i32.add (local.get $q) (local.get $b)))
        (local.set $end4 (i32.add (local.get $q) (i32.and (local.get $b) (i32.const -16))))
        (local.set $A0 (v128.const i32x4 0 0 0 0))
        (local.set $A1 (v128.const i32x4 0 0 0 0))
        (local.set $A2 (v128.const i32x4 0 0 0 0))
        (local.set $A3 (v128.const i32x4 0 0 0 0))
        (block $foursDone
          (loop $four
            (br_if $foursDone (i32.ge_u (local.get $q) (local.get $end4)))
            ;; per pair, a and c its planes' four elements from s: $lo = [a0 c0 a1 c1], $hi = [a2 c2 a3 c3], and the sum
            ;; takes [a0 c0], [a1 c1], [a2 c2], [a3 c3] in turn
            (local.set $a (v128.load (i32.add (local.get $q) (local.get $o0))))
            (local.set $c (v128.load (i32.add (local.get $q) (local.get $o1))))
            (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $c)))
            (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $c)))
            (local.set $A0 (f64x2.add (local.get $A0) (f64x2.promote_low_f32x4 (local.get $lo))))
            (local.set $A0 (f64x2.add (local.get $A0) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $lo) (local.get $lo)))))
            (local.set $A0 (f64x2.add (local.get $A0) (f64x2.promote_low_f32x4 (local.get $hi))))
            (local.set $A0 (f64x2.add (local.get $A0) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $hi) (local.get $hi)))))
            (local.set $a (v128.load (i32.add (local.get $q) (local.get $o2))))
            (local.set $c (v128.load (i32.add (local.get $q) (local.get $o3))))
            (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $c)))
            (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $c)))
            (local.set $A1 (f64x2.add (local.get $A1) (f64x2.promote_low_f32x4 (local.get $lo))))
            (local.set $A1 (f64x2.add (local.get $A1) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $lo) (local.get $lo)))))
            (local.set $A1 (f64x2.add (local.get $A1) (f64x2.promote_low_f32x4 (local.get $hi))))
            (local.set $A1 (f64x2.add (local.get $A1) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $hi) (local.get $hi)))))
            (local.set $a (v128.load (i32.add (local.get $q) (local.get $o4))))
            (local.set $c (v128.load (i32.add (local.get $q) (local.get $o5))))
            (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $c)))
            (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $c)))
            (local.set $A2 (f64x2.add (local.get $A2) (f64x2.promote_low_f32x4 (local.get $lo))))
            (local.set $A2 (f64x2.add (local.get $A2) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $lo) (local.get $lo)))))
            (local.set $A2 (f64x2.add (local.get $A2) (f64x2.promote_low_f32x4 (local.get $hi))))
            (local.set $A2 (f64x2.add (local.get $A2) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $hi) (local.get $hi)))))
            (local.set $a (v128.load (i32.add (local.get $q) (local.get $o6))))
            (local.set $c (v128.load (i32.add (local.get $q) (local.get $o7))))
            (local.set $lo (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $c)))
            (local.set $hi (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $c)))
            (local.set $A3 (f64x2.add (local.get $A3) (f64x2.promote_low_f32x4 (local.get $lo))))
            (local.set $A3 (f64x2.add (local.get $A3) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $lo) (local.get $lo)))))
            (local.set $A3 (f64x2.add (local.get $A3) (f64x2.promote_low_f32x4 (local.get $hi))))
            (local.set $A3 (f64x2.add (local.get $A3) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $hi) (local.get $hi)))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $four)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $A0 (f64x2.add (local.get $A0)
              (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $o1)) (v128.load32_zero (i32.add (local.get $q) (local.get $o0)))))))
            (local.set $A1 (f64x2.add (local.get $A1)
              (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $o3)) (v128.load32_zero (i32.add (local.get $q) (local.get $o2)))))))
            (local.set $A2 (f64x2.add (local.get $A2)
              (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $o5)) (v128.load32_zero (i32.add (local.get $q) (local.get $o4)))))))
            (local.set $A3 (f64x2.add (local.get $A3)
              (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $o7)) (v128.load32_zero (i32.add (local.get $q) (local.get $o6)))))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $tail)))
        ;; each pair's two means, divided lane by lane in f64 and rounded to f32 (as f64.div and f32.demote_f64 would)
        (local.set $w (i32.add (local.get $y) (i32.shl (local.get $p) (i32.const 2))))
        (v128.store64_lane offset=0 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.div (local.get $A0) (local.get $fs2))))
        (v128.store64_lane offset=8 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.div (local.get $A1) (local.get $fs2))))
        (v128.store64_lane offset=16 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.div (local.get $A2) (local.get $fs2))))
        (v128.store64_lane offset=24 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.div (local.get $A3) (local.get $fs2))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $group)))
    (block $planesDone
      (loop $plane
        (br_if $planesDone (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $q (i32.add (local.get $x) (i32.mul (local.get $p) (local.get $b))))
        (local.set $end (i32.add (local.get $q) (local.get $b)))
        (local.set $s (f64.const 0))
        (block $sumDone
          (loop $sum
            (br_if $sumDone (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $q)))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $sum)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $p) (i32.const 2))) (f32.demote_f64 (f64.div (local.get $s) (local.get $fs))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $plane))))

  ;; dx[p S + s] = f32(dy[p] / S) for s < S: the quotient in f64 rounded once (as the reference's), stored four at a time;
  ;; a plane's last S mod 4 floats by one more store of four that ends where the plane does (overlapping floats it
  ;; already wrote with the same value, and never the next plane, which may be another thread's), or one at a time in
  ;; a plane shorter than 4.
  (func $globalAvgPoolBackwardPlanes (export "globalAvgPoolBackwardPlanes")
    (param $p0 i32) (param $p1 i32) (param $dy i32) (param $S i32) (param $dx i32)
    (local $p i32) (local $q i32) (local $end i32) (local $b i32) (local $fs f64) (local $v f32) (local $vv v128)
    (local.set $b (i32.shl (local.get $S) (i32.const 2)))
    (local.set $fs (f64.convert_i32_u (local.get $S)))
    (local.set $p (local.get $p0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $v (f32.demote_f64 (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $dy) (i32.shl (local.get $p) (i32.const 2)))))
                                               (local.get $fs))))
        (local.set $vv (f32x4.splat (local.get $v)))
        (local.set $q (i32.add (local.get $dx) (i32.mul (local.get $p) (local.get $b))))
        (local.set $end (i32.add (local.get $q) (local.get $b)))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.gt_u (i32.add (local.get $q) (i32.const 16)) (local.get $end)))
            (v128.store (local.get $q) (local.get $vv))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $vloop)))
        (if (i32.lt_u (local.get $q) (local.get $end))
          (then
            (if (i32.ge_u (local.get $S) (i32.const 4))
              (then (v128.store (i32.sub (local.get $end) (i32.const 16)) (local.get $vv)))
              (else
                (block $sdone
                  (loop $sloop
                    (br_if $sdone (i32.ge_u (local.get $q) (local.get $end)))
                    (f32.store (local.get $q) (local.get $v))
                    (local.set $q (i32.add (local.get $q) (i32.const 4)))
                    (br $sloop)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $ploop))))

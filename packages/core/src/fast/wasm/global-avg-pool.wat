;; Global average pooling (a ResNet's head): each plane of S floats to its mean, and the pullback that spreads each mean's
;; gradient back over its plane; a thread's share is a range of planes [p0, p1).

  ;; y[p] = f32(sum / S) with sum = x[p S] + x[p S + 1] + ... + x[p S + S - 1] added in f64 from +0 in that order, the
  ;; division in f64 and one rounding to f32 (as the reference does in JavaScript: its sum and quotient are doubles,
  ;; stored into a Float32Array). Four planes side by side: each plane's adds stay in order, and four independent chains
  ;; keep the adder busy where one would wait on its latency; the planes past a multiple of 4 go one at a time.
  (func $globalAvgPoolPlanes (export "globalAvgPoolPlanes")
    (param $p0 i32) (param $p1 i32) (param $x i32) (param $S i32) (param $y i32)
    (local $p i32) (local $q i32) (local $end i32) (local $b i32) (local $b2 i32) (local $b3 i32) (local $fs f64)
    (local $s0 f64) (local $s1 f64) (local $s2 f64) (local $s3 f64)
    ;; $b bytes a plane
    (local.set $b (i32.shl (local.get $S) (i32.const 2)))
    (local.set $b2 (i32.shl (local.get $b) (i32.const 1)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $b)))
    (local.set $fs (f64.convert_i32_u (local.get $S)))
    (local.set $p (local.get $p0))
    (block $qdone
      (loop $qloop
        (br_if $qdone (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $p1)))
        (local.set $q (i32.add (local.get $x) (i32.mul (local.get $p) (local.get $b))))
        (local.set $end (i32.add (local.get $q) (local.get $b)))
        (local.set $s0 (f64.const 0))
        (local.set $s1 (f64.const 0))
        (local.set $s2 (f64.const 0))
        (local.set $s3 (f64.const 0))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $s0 (f64.add (local.get $s0) (f64.promote_f32 (f32.load (local.get $q)))))
            (local.set $s1 (f64.add (local.get $s1) (f64.promote_f32 (f32.load (i32.add (local.get $q) (local.get $b))))))
            (local.set $s2 (f64.add (local.get $s2) (f64.promote_f32 (f32.load (i32.add (local.get $q) (local.get $b2))))))
            (local.set $s3 (f64.add (local.get $s3) (f64.promote_f32 (f32.load (i32.add (local.get $q) (local.get $b3))))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $sloop)))
        (local.set $q (i32.add (local.get $y) (i32.shl (local.get $p) (i32.const 2))))
        (f32.store (local.get $q) (f32.demote_f64 (f64.div (local.get $s0) (local.get $fs))))
        (f32.store offset=4 (local.get $q) (f32.demote_f64 (f64.div (local.get $s1) (local.get $fs))))
        (f32.store offset=8 (local.get $q) (f32.demote_f64 (f64.div (local.get $s2) (local.get $fs))))
        (f32.store offset=12 (local.get $q) (f32.demote_f64 (f64.div (local.get $s3) (local.get $fs))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $qloop)))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $q (i32.add (local.get $x) (i32.mul (local.get $p) (local.get $b))))
        (local.set $end (i32.add (local.get $q) (local.get $b)))
        (local.set $s0 (f64.const 0))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $q) (local.get $end)))
            (local.set $s0 (f64.add (local.get $s0) (f64.promote_f32 (f32.load (local.get $q)))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $sloop)))
        (f32.store (i32.add (local.get $y) (i32.shl (local.get $p) (i32.const 2))) (f32.demote_f64 (f64.div (local.get $s0) (local.get $fs))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $ploop))))

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

;; Adam's update, bit-identical to train's JavaScript loop, and whether what it wrote is finite.

  ;; Adam's update of elements [i0, i1) of one float32 tensor, as train's adam computes it: each element in
  ;; double precision (f32 promoted exactly), the new moments rounded to float32 when stored and read back
  ;; rounded, the new param rounded once: bit-identical to the JavaScript loop. hyper: 4 f64 at that address,
  ;; lrT (the step's bias-corrected rate), c1 = 1 - beta1, c2 = 1 - beta2, weight decay.
  ;;   g' = g + wd*p;  m' = m + c1*(g' - m);  v' = v + c2*(g'*g' - v);  p' = p - lrT*m' / (sqrt(v') + 1e-7)
  ;; Four elements per step (one vector of each operand, as two f64x2 halves: 1.3x against a pair per step), then a
  ;; pair, then an odd last element alone.
  ;;
  ;; The finiteness check rides along (train's step refuses an update that made anything NaN or infinite), in three
  ;; integer ops a vector: a running lane-wise unsigned max of v' as stored (bits at or above 0x7f800000: +Infinity,
  ;; NaN, or a negative v', which only a negative v gives and which makes p' NaN anyway) and of p''s exponent bits
  ;; (all set only for NaN and ±Infinity). m' needs no look: a non-finite m' makes p' non-finite (lrT > 0 times
  ;; ±Infinity over a finite sqrt(v') + 1e-7 is ±Infinity; NaN stays NaN), unless v' is +Infinity, which is caught.
  ;; When any lane got there, the i32 at $bad is set to 1; nothing clears it (the caller zeroes it before the chunks
  ;; run, and several threads may set it at once). Six ops a vector (all three outputs masked) cost the kernel ~11%
  ;; (0.15 ms of 1.35 for a 432,000-value param); a separate pass in JavaScript took ~0.7 ms of an 18 ms step.
  (func $adam
    (param $i0 i32) (param $i1 i32) (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $outP i32) (param $outM i32) (param $outV i32) (param $hyper i32) (param $bad i32)
    (local $expMax v128) (local $expBits v128)
    (local $lrT v128) (local $c1 v128) (local $c2 v128) (local $wd v128) (local $noWd i32)
    (local $i i32) (local $o i32) (local $pp v128) (local $gg v128) (local $mm v128) (local $vv v128)
    (local $n v128) (local $w v128) (local $end2 i32) (local $step i32)
    (local $end4 i32) (local $p4 v128) (local $g4 v128) (local $m4 v128) (local $v4 v128)
    (local $nL v128) (local $nH v128) (local $wL v128) (local $wH v128) (local $qL v128) (local $qH v128)
    (local.set $lrT (f64x2.splat (f64.load (local.get $hyper))))
    (local.set $c1 (f64x2.splat (f64.load offset=8 (local.get $hyper))))
    (local.set $c2 (f64x2.splat (f64.load offset=16 (local.get $hyper))))
    (local.set $wd (f64x2.splat (f64.load offset=24 (local.get $hyper))))
    (local.set $expBits (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $noWd (f64.eq (f64.load offset=24 (local.get $hyper)) (f64.const 0)))
    (local.set $end4 (i32.add (local.get $i0) (i32.and (i32.sub (local.get $i1) (local.get $i0)) (i32.const -4))))
    (local.set $i (local.get $i0))
    (block $qdone
      (loop $quads
        (br_if $qdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p4 (v128.load (i32.add (local.get $p) (local.get $o))))
        (local.set $g4 (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $m4 (v128.load (i32.add (local.get $m) (local.get $o))))
        (local.set $v4 (v128.load (i32.add (local.get $v) (local.get $o))))
            (local.set $pp (f64x2.promote_low_f32x4 (local.get $p4)))
            (local.set $gg (f64x2.promote_low_f32x4 (local.get $g4)))
            (local.set $mm (f64x2.promote_low_f32x4 (local.get $m4)))
            (local.set $vv (f64x2.promote_low_f32x4 (local.get $v4)))
            (if (i32.eqz (local.get $noWd))
              (then (local.set $gg (f64x2.add (local.get $gg) (f64x2.mul (local.get $wd) (local.get $pp))))))
            (local.set $nL (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $mm) (f64x2.mul (local.get $c1) (f64x2.sub (local.get $gg) (local.get $mm))))))
            (local.set $wL (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $vv) (f64x2.mul (local.get $c2) (f64x2.sub (f64x2.mul (local.get $gg) (local.get $gg)) (local.get $vv))))))
            (local.set $qL (f32x4.demote_f64x2_zero (f64x2.sub (local.get $pp)
              (f64x2.div (f64x2.mul (local.get $lrT) (f64x2.promote_low_f32x4 (local.get $nL)))
                         (f64x2.add (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $wL))) (f64x2.splat (f64.const 1e-7)))))))
            (local.set $pp (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $p4) (local.get $p4))))
            (local.set $gg (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $g4) (local.get $g4))))
            (local.set $mm (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $m4) (local.get $m4))))
            (local.set $vv (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v4) (local.get $v4))))
            (if (i32.eqz (local.get $noWd))
              (then (local.set $gg (f64x2.add (local.get $gg) (f64x2.mul (local.get $wd) (local.get $pp))))))
            (local.set $nH (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $mm) (f64x2.mul (local.get $c1) (f64x2.sub (local.get $gg) (local.get $mm))))))
            (local.set $wH (f32x4.demote_f64x2_zero
              (f64x2.add (local.get $vv) (f64x2.mul (local.get $c2) (f64x2.sub (f64x2.mul (local.get $gg) (local.get $gg)) (local.get $vv))))))
            (local.set $qH (f32x4.demote_f64x2_zero (f64x2.sub (local.get $pp)
              (f64x2.div (f64x2.mul (local.get $lrT) (f64x2.promote_low_f32x4 (local.get $nH)))
                         (f64x2.add (f64x2.sqrt (f64x2.promote_low_f32x4 (local.get $wH))) (f64x2.splat (f64.const 1e-7)))))))
        (local.set $m4 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $nL) (local.get $nH)))
        (local.set $v4 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $wL) (local.get $wH)))
        (local.set $p4 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $qL) (local.get $qH)))
        (v128.store (i32.add (local.get $outM) (local.get $o)) (local.get $m4))
        (v128.store (i32.add (local.get $outV) (local.get $o)) (local.get $v4))
        (v128.store (i32.add (local.get $outP) (local.get $o)) (local.get $p4))
        (local.set $expMax (i32x4.max_u (local.get $expMax) (i32x4.max_u (local.get $v4) (v128.and (local.get $p4) (local.get $expBits)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (local.set $end2 (i32.add (local.get $i) (i32.and (i32.sub (local.get $i1) (local.get $i)) (i32.const -2))))
    (block $done
      (loop $pairs
        ;; a pair while two elements are left, then (step = 1) the odd last one through the same code with its
        ;; second lane a copy of the first, stored lane 0 only
        (br_if $done (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $step (select (i32.const 2) (i32.const 1) (i32.lt_u (local.get $i) (local.get $end2))))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (if (i32.eq (local.get $step) (i32.const 2))
          (then
            (local.set $pp (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (local.get $o)))))
            (local.set $gg (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $o)))))
            (local.set $mm (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $o)))))
            (local.set $vv (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $o))))))
          (else
            (local.set $pp (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $o))))))
            (local.set $gg (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $o))))))
            (local.set $mm (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $m) (local.get $o))))))
            (local.set $vv (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $v) (local.get $o))))))))
        (if (i32.eqz (local.get $noWd))
          (then (local.set $gg (f64x2.add (local.get $gg) (f64x2.mul (local.get $wd) (local.get $pp))))))
        ;; m' rounded to float32 and read back
        (local.set $n (f32x4.demote_f64x2_zero
          (f64x2.add (local.get $mm) (f64x2.mul (local.get $c1) (f64x2.sub (local.get $gg) (local.get $mm))))))
        (local.set $mm (f64x2.promote_low_f32x4 (local.get $n)))
        (local.set $w (f32x4.demote_f64x2_zero
          (f64x2.add (local.get $vv) (f64x2.mul (local.get $c2) (f64x2.sub (f64x2.mul (local.get $gg) (local.get $gg)) (local.get $vv))))))
        (local.set $vv (f64x2.promote_low_f32x4 (local.get $w)))
        (local.set $pp (f32x4.demote_f64x2_zero (f64x2.sub (local.get $pp)
          (f64x2.div (f64x2.mul (local.get $lrT) (local.get $mm))
                     (f64x2.add (f64x2.sqrt (local.get $vv)) (f64x2.splat (f64.const 1e-7)))))))
        (if (i32.eq (local.get $step) (i32.const 2))
          (then
            (v128.store64_lane 0 (i32.add (local.get $outM) (local.get $o)) (local.get $n))
            (v128.store64_lane 0 (i32.add (local.get $outV) (local.get $o)) (local.get $w))
            (v128.store64_lane 0 (i32.add (local.get $outP) (local.get $o)) (local.get $pp)))
          (else
            (f32.store (i32.add (local.get $outM) (local.get $o)) (f32x4.extract_lane 0 (local.get $n)))
            (f32.store (i32.add (local.get $outV) (local.get $o)) (f32x4.extract_lane 0 (local.get $w)))
            (f32.store (i32.add (local.get $outP) (local.get $o)) (f32x4.extract_lane 0 (local.get $pp)))))
        ;; lane 1 of a lone element is a copy of lane 0, lanes 2 and 3 are +0: all may join the max
        (local.set $expMax (i32x4.max_u (local.get $expMax) (i32x4.max_u (local.get $w) (v128.and (local.get $pp) (local.get $expBits)))))
        (local.set $i (i32.add (local.get $i) (local.get $step)))
        (br $pairs)))
    (if (v128.any_true (i32x4.ge_u (local.get $expMax) (local.get $expBits)))
      (then (i32.store (local.get $bad) (i32.const 1)))))

  ;; Adam's update of several tensors as one range of elements: items [i0, i1) of the tensors laid end to end, so that
  ;; one job's units span all of a step's parameters (one publish, one wake-up of the workers, where each tensor's job
  ;; was too small to split or split alone). $table holds $count records of 8 i32 (32 bytes), in the order their
  ;; elements are numbered: start and end (the tensor's first item and one past its last), then adam's p, g, m, v (each
  ;; updated in place: p, m, v are also where p', m', v' go), hyper and bad. Each element goes through $adam as it would
  ;; alone: the same operations, so the same bits wherever a unit's range starts or ends.
  (func (export "adamTensors") (param $i0 i32) (param $i1 i32) (param $table i32) (param $count i32)
    (local $at i32) (local $last i32) (local $start i32) (local $end i32)
    (local.set $at (local.get $table))
    (local.set $last (i32.add (local.get $table) (i32.shl (local.get $count) (i32.const 5))))
    (block $done
      (loop $tensors
        (br_if $done (i32.ge_u (local.get $at) (local.get $last)))
        (local.set $start (i32.load (local.get $at)))
        (br_if $done (i32.ge_u (local.get $start) (local.get $i1)))
        (local.set $end (i32.load offset=4 (local.get $at)))
        (if (i32.gt_u (local.get $end) (local.get $i0))
          (then
            (call $adam
              (i32.sub (select (local.get $i0) (local.get $start) (i32.gt_u (local.get $i0) (local.get $start))) (local.get $start))
              (i32.sub (select (local.get $i1) (local.get $end) (i32.lt_u (local.get $i1) (local.get $end))) (local.get $start))
              (i32.load offset=8 (local.get $at)) (i32.load offset=12 (local.get $at))
              (i32.load offset=16 (local.get $at)) (i32.load offset=20 (local.get $at))
              (i32.load offset=8 (local.get $at)) (i32.load offset=16 (local.get $at)) (i32.load offset=20 (local.get $at))
              (i32.load offset=24 (local.get $at)) (i32.load offset=28 (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $tensors))))

;; The lesson's 2x2 stride-2 max pool and its pullbacks: the pool with its argmax ($maxPool2x2), the pool then ReLU
;; without it ($maxPool2x2Relu, evaluation), and the pullback of ReLU after the pool into the conv's dy, whole
;; ($unpoolRelu) or image by image packed for the filter gradient's GEMM ($unpoolPackDy, with conv-layout.wat's
;; $packDyImages); $maxPool2x2Planes and $unpoolReluPlanes take a thread's share of planes. $zeroF32 is shared:
;; pad.wat and pool-filter-grad.wat call it too.

  ;; The lesson's max pooling, 2x2 windows, stride 2, no padding, over `planes` planes of H x W: out and argmax
  ;; (flat element indices into x, counted from element 0 of the input at $x, plus $base: a thread pooling a
  ;; later part of a batch gives the index of its first element) for OH x OW outputs per plane.
  ;; Four outputs at a time: the even and odd columns of the two window rows are separated with shuffles, and
  ;; each candidate replaces the best so far where it is strictly greater, or is the first NaN (f32x4.gt/ne/eq +
  ;; bitselect, no branches: pooling random data with branches mispredicts half the time), in the window order
  ;; (0,0) (0,1) (1,0) (1,1), so the first maximum (or the first NaN) wins as in the reference. Outputs past a
  ;; multiple of 4 per row go one at a time.
  (func $maxPool2x2 (export "maxPool2x2")
    (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32)
    (param $out i32) (param $arg i32) (param $base i32)
    (local $pl i32) (local $oy i32) (local $ox i32) (local $ow4 i32) (local $r0 i32) (local $i i32)
    (local $a v128) (local $b v128) (local $best v128) (local $at v128) (local $v v128) (local $m v128)
    (local $ib v128) (local $bs f32) (local $vs f32) (local $as i32) (local $o i32)
    (local.set $ow4 (i32.and (local.get $OW) (i32.const -4)))
    (local.set $o (i32.const 0))
    (local.set $pl (i32.const 0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $planes)))
        (local.set $oy (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
            ;; r0: element index of the window's top-left for ox = 0
            (local.set $r0 (i32.add (i32.mul (local.get $pl) (i32.mul (local.get $H) (local.get $W)))
                                    (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $W))))
            (local.set $ox (i32.const 0))
            (block $xdone
              (loop $xloop
                (br_if $xdone (i32.ge_u (local.get $ox) (local.get $ow4)))
                (local.set $i (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))))
                (local.set $ib (i32x4.add (i32x4.splat (local.get $i)) (v128.const i32x4 0 2 4 6)))
                ;; top row: x[i .. i+7]
                (local.set $a (v128.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $best (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $at (local.get $ib))
                (local.set $v (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $m (v128.or (f32x4.gt (local.get $v) (local.get $best))
                  (v128.and (f32x4.ne (local.get $v) (local.get $v)) (f32x4.eq (local.get $best) (local.get $best)))))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (i32x4.add (local.get $ib) (v128.const i32x4 1 1 1 1)) (local.get $at) (local.get $m)))
                ;; bottom row: x[i+W .. i+W+7]
                (local.set $a (v128.load (i32.add (local.get $x) (i32.shl (i32.add (local.get $i) (local.get $W)) (i32.const 2)))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (i32.shl (i32.add (local.get $i) (local.get $W)) (i32.const 2)))))
                (local.set $ib (i32x4.add (local.get $ib) (i32x4.splat (local.get $W))))
                (local.set $v (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $m (v128.or (f32x4.gt (local.get $v) (local.get $best))
                  (v128.and (f32x4.ne (local.get $v) (local.get $v)) (f32x4.eq (local.get $best) (local.get $best)))))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (local.get $ib) (local.get $at) (local.get $m)))
                (local.set $v (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $m (v128.or (f32x4.gt (local.get $v) (local.get $best))
                  (v128.and (f32x4.ne (local.get $v) (local.get $v)) (f32x4.eq (local.get $best) (local.get $best)))))
                (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                (local.set $at (v128.bitselect (i32x4.add (local.get $ib) (v128.const i32x4 1 1 1 1)) (local.get $at) (local.get $m)))
                (v128.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $best))
                (v128.store (i32.add (local.get $arg) (i32.shl (local.get $o) (i32.const 2))) (i32x4.add (local.get $at) (i32x4.splat (local.get $base))))
                (local.set $o (i32.add (local.get $o) (i32.const 4)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $xloop)))
            ;; the rest of the row, one window at a time
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ox) (local.get $OW)))
                (local.set $i (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))))
                (local.set $bs (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $as (local.get $i))
                (local.set $vs (f32.load offset=4 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs))
                      (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs)))) (then (local.set $bs (local.get $vs)) (local.set $as (i32.add (local.get $i) (i32.const 1)))))
                (local.set $i (i32.add (local.get $i) (local.get $W)))
                (local.set $vs (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs))
                      (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs)))) (then (local.set $bs (local.get $vs)) (local.set $as (local.get $i))))
                (local.set $vs (f32.load offset=4 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs))
                      (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs)))) (then (local.set $bs (local.get $vs)) (local.set $as (i32.add (local.get $i) (i32.const 1)))))
                (f32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $bs))
                (i32.store (i32.add (local.get $arg) (i32.shl (local.get $o) (i32.const 2))) (i32.add (local.get $as) (local.get $base)))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $sloop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $yloop)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))

  ;; The lesson's 2x2 stride-2 max pool then ReLU, without the argmax (evaluation), in one pass: the bits of $maxPool2x2
  ;; then $relu. Four windows at a time take f32x4.max of their four candidates: where the first-maximum rule keeps a -0
  ;; tied with a +0, f32x4.max may give +0, which ReLU turns into +0 either way; with a NaN among them f32x4.max gives
  ;; a NaN but not always the first one's bits, so such a group is redone by the first-maximum rule. Outputs past a
  ;; multiple of 4 per row go one at a time by that rule.
  (func $maxPool2x2Relu
    (param $x i32) (param $planes i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32) (param $out i32)
    (local $pl i32) (local $oy i32) (local $ox i32) (local $ow4 i32) (local $r0 i32) (local $i i32) (local $o i32)
    (local $a v128) (local $b v128) (local $te v128) (local $to v128) (local $be v128) (local $bo v128) (local $best v128) (local $m v128)
    (local $bs f32) (local $vs f32)
    (local.set $ow4 (i32.and (local.get $OW) (i32.const -4)))
    (local.set $pl (i32.const 0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pl) (local.get $planes)))
        (local.set $oy (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
            (local.set $r0 (i32.add (i32.mul (local.get $pl) (i32.mul (local.get $H) (local.get $W)))
                                    (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $W))))
            (local.set $ox (i32.const 0))
            (block $xdone
              (loop $xloop
                (br_if $xdone (i32.ge_u (local.get $ox) (local.get $ow4)))
                (local.set $i (i32.shl (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))) (i32.const 2)))
                ;; the windows' top-left, top-right, bottom-left and bottom-right candidates
                (local.set $a (v128.load (i32.add (local.get $x) (local.get $i))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (local.get $i))))
                (local.set $te (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $to (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $i (i32.add (local.get $i) (i32.shl (local.get $W) (i32.const 2))))
                (local.set $a (v128.load (i32.add (local.get $x) (local.get $i))))
                (local.set $b (v128.load offset=16 (i32.add (local.get $x) (local.get $i))))
                (local.set $be (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
                (local.set $bo (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
                (local.set $best (f32x4.max (f32x4.max (local.get $te) (local.get $to)) (f32x4.max (local.get $be) (local.get $bo))))
                (if (v128.any_true (f32x4.ne (local.get $best) (local.get $best)))
                  (then
                    (local.set $best (local.get $te))
                    (local.set $m (v128.or (f32x4.gt (local.get $to) (local.get $best))
                      (v128.and (f32x4.ne (local.get $to) (local.get $to)) (f32x4.eq (local.get $best) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $to) (local.get $best) (local.get $m)))
                    (local.set $m (v128.or (f32x4.gt (local.get $be) (local.get $best))
                      (v128.and (f32x4.ne (local.get $be) (local.get $be)) (f32x4.eq (local.get $best) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $be) (local.get $best) (local.get $m)))
                    (local.set $m (v128.or (f32x4.gt (local.get $bo) (local.get $best))
                      (v128.and (f32x4.ne (local.get $bo) (local.get $bo)) (f32x4.eq (local.get $best) (local.get $best)))))
                    (local.set $best (v128.bitselect (local.get $bo) (local.get $best) (local.get $m)))))
                (v128.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))
                  (v128.andnot (local.get $best) (f32x4.le (local.get $best) (v128.const i32x4 0 0 0 0))))
                (local.set $o (i32.add (local.get $o) (i32.const 4)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $xloop)))
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ox) (local.get $OW)))
                (local.set $i (i32.add (local.get $x) (i32.shl (i32.add (local.get $r0) (i32.shl (local.get $ox) (i32.const 1))) (i32.const 2))))
                (local.set $bs (f32.load (local.get $i)))
                (local.set $vs (f32.load offset=4 (local.get $i)))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs)) (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs))))
                  (then (local.set $bs (local.get $vs))))
                (local.set $i (i32.add (local.get $i) (i32.shl (local.get $W) (i32.const 2))))
                (local.set $vs (f32.load (local.get $i)))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs)) (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs))))
                  (then (local.set $bs (local.get $vs))))
                (local.set $vs (f32.load offset=4 (local.get $i)))
                (if (i32.or (f32.gt (local.get $vs) (local.get $bs)) (i32.and (f32.ne (local.get $vs) (local.get $vs)) (f32.eq (local.get $bs) (local.get $bs))))
                  (then (local.set $bs (local.get $vs))))
                (f32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))
                  (select (f32.const 0) (local.get $bs) (f32.le (local.get $bs) (f32.const 0))))
                (local.set $o (i32.add (local.get $o) (i32.const 1)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $sloop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $yloop)))
        (local.set $pl (i32.add (local.get $pl) (i32.const 1)))
        (br $ploop))))

  ;; The pullback of ReLU after max pooling, into the pool's input gradient: dst [len floats] = 0, then for each
  ;; pooled element o < n, dst[arg[o]] += dy[o] where out[o] (the pooled, ReLU'd output) is not <= 0 (a NaN lets
  ;; dy through, as $reluBackward does). arg holds element indices into dst.
  (func $unpoolRelu (export "unpoolRelu") (param $dy i32) (param $out i32) (param $arg i32) (param $n i32) (param $dst i32) (param $len i32)
    (call $zeroF32 (local.get $dst) (local.get $len))
    (call $scatterRelu (local.get $dy) (local.get $out) (local.get $arg) (local.get $n) (local.get $dst)))

  ;; $maxPool2x2 over planes [p0, p1): a thread's share. Plane p's argmax counts from element 0 of the whole input at
  ;; $x (its first element is p*H*W, plus $base), so the indices are those of one call over every plane.
  (func $maxPool2x2Planes (export "maxPool2x2Planes")
    (param $p0 i32) (param $p1 i32) (param $x i32) (param $H i32) (param $W i32) (param $OH i32) (param $OW i32)
    (param $out i32) (param $arg i32) (param $base i32)
    (local $in0 i32) (local $out0 i32)
    ;; element offsets of plane p0 in x and in out / arg
    (local.set $in0 (i32.mul (local.get $p0) (i32.mul (local.get $H) (local.get $W))))
    (local.set $out0 (i32.mul (local.get $p0) (i32.mul (local.get $OH) (local.get $OW))))
    (call $maxPool2x2 (i32.add (local.get $x) (i32.shl (local.get $in0) (i32.const 2))) (i32.sub (local.get $p1) (local.get $p0))
      (local.get $H) (local.get $W) (local.get $OH) (local.get $OW)
      (i32.add (local.get $out) (i32.shl (local.get $out0) (i32.const 2))) (i32.add (local.get $arg) (i32.shl (local.get $out0) (i32.const 2)))
      (i32.add (local.get $base) (local.get $in0))))

  ;; $unpoolRelu over planes [p0, p1) of dst (P floats each; PQ pooled elements each in dy, out and arg): a thread's
  ;; share. Zeroes its planes of dst, then scatters its pooled planes, each of which routes only into its own plane
  ;; (a pool's window lies in one plane), so every float of dst gets the same sum, in the same order, as from one call.
  (func $unpoolReluPlanes (export "unpoolReluPlanes")
    (param $p0 i32) (param $p1 i32) (param $dy i32) (param $out i32) (param $arg i32) (param $PQ i32) (param $dst i32) (param $P i32)
    (local $o i32)
    ;; byte offset of plane p0's first pooled element
    (local.set $o (i32.shl (i32.mul (local.get $p0) (local.get $PQ)) (i32.const 2)))
    (call $zeroF32 (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p0) (local.get $P)) (i32.const 2)))
      (i32.mul (i32.sub (local.get $p1) (local.get $p0)) (local.get $P)))
    (call $scatterRelu (i32.add (local.get $dy) (local.get $o)) (i32.add (local.get $out) (local.get $o)) (i32.add (local.get $arg) (local.get $o))
      (i32.mul (i32.sub (local.get $p1) (local.get $p0)) (local.get $PQ)) (local.get $dst)))

  ;; len floats at dst = 0, four at a time, the tail one by one.
  (func $zeroF32 (param $dst i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $len) (i32.const -4)) (i32.const 2))))
    (block $zdone
      (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $zloop)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $len) (i32.const 3)) (i32.const 2))))
    (block $tdone
      (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.const 0))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $tloop))))

  ;; dst[arg[o]] += dy[o] for o < n where out[o] is not <= 0 ($unpoolRelu without the zeroing). Branch-free: a masked
  ;; element adds +0, which leaves dst as it is (dst starts at +0 and a sum from +0 is never -0), where a branch on
  ;; ReLU's mask, true for about half the elements at random, mispredicted half the time. An arg of -1 (a padded
  ;; pool's window with nothing of the image in it, as the generic max pool gives) routes nothing, as in the
  ;; reference: that branch is never taken by the lesson's pool, so it is always predicted.
  (func $scatterRelu (param $dy i32) (param $out i32) (param $arg i32) (param $n i32) (param $dst i32)
    (local $o i32) (local $at i32) (local $i i32) (local $a i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
        (local.set $i (i32.shl (local.get $o) (i32.const 2)))
        (local.set $a (i32.load (i32.add (local.get $arg) (local.get $i))))
        (if (i32.ge_s (local.get $a) (i32.const 0))
          (then
            (local.set $at (i32.add (local.get $dst) (i32.shl (local.get $a) (i32.const 2))))
            (f32.store (local.get $at)
              (f32.add (f32.load (local.get $at))
                (select (f32.const 0) (f32.load (i32.add (local.get $dy) (local.get $i)))
                  (f32.le (f32.load (i32.add (local.get $out) (local.get $i))) (f32.const 0)))))))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (br $each))))

  ;; $unpoolRelu and $packDy in one pass, image by image, for images [n0, n1) (a thread's share), so the conv's dy
  ;; [N, FN, P] never exists whole: each image's dy [FN, P] is built in a scratch slot (zeros, then its pooled dy
  ;; [FN, PQ] routed to the window maxima where out is not <= 0) and packed from there while it is in cache. The
  ;; slot is image n0's in $scratch [N, FN, P] (threads take disjoint ranges, so never the same slot). db as $packDy
  ;; sums it: directly with $side = 0 (one caller, all images in order), else kept at $side for $replayDb. The same
  ;; bits as $unpoolRelu then $packDy, without moving the whole dy (6.9 MB for the lesson's conv) through memory twice.
  (func $unpoolPackDy (export "unpoolPackDy")
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $out i32) (param $arg i32) (param $N i32) (param $FN i32)
    (param $P i32) (param $PQ i32) (param $scratch i32) (param $bp i32) (param $db i32) (param $side i32)
    (local $n i32) (local $o i32) (local $slot i32)
    (local.set $slot (i32.add (local.get $scratch) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $FN)) (local.get $P)) (i32.const 2))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $o (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $PQ)) (i32.const 2)))
        (call $zeroF32 (local.get $slot) (i32.mul (local.get $FN) (local.get $P)))
        ;; arg indexes the batch's dy; image n's part starts n*FN*P floats in, which is where the slot is
        (call $scatterRelu (i32.add (local.get $dy) (local.get $o)) (i32.add (local.get $out) (local.get $o)) (i32.add (local.get $arg) (local.get $o))
          (i32.mul (local.get $FN) (local.get $PQ))
          (i32.sub (local.get $slot) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P)) (i32.const 2))))
        (call $packDyImages (local.get $n) (i32.add (local.get $n) (i32.const 1)) (local.get $slot) (i32.const 0)
          (i32.mul (local.get $N) (local.get $P)) (local.get $P) (local.get $FN) (local.get $bp) (local.get $db) (local.get $side))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $images))))

;; A convolution's forward by a GEMM over packed pixel panels, where neither the direct path nor Winograd takes it
;; (resnet's 3x3 stride-2 layers: 16 -> 32 at 28x28 -> 14x14, 32 -> 64 at 14x14 -> 7x7). Per group of G images:
;; - T [Kc, ldT] = im2col(x)ᵀ, the group's output pixels in the lanes: T[k, i P + p] = x_i[c, oy s + fy - pad,
;;   ox s + fx - pad] for k = (c, fy, fx), p = (oy, ox), zero outside the image. Each row k of an image is OH runs of OW
;;   adjacent floats, copied by vectors from the padded channel plane split into its s column phases (phase φ holds the
;;   padded columns φ, φ + s, ...: a stride-2 row's taps fx = 0, 1, 2 are runs of its even, odd and even columns from 0,
;;   0 and 1). The padding is written once a chunk and never overwritten: no padded copy of x, no offset tables.
;; - M [FN, ldM] = Wᵀ x T by $packedMultiply: 2 filters x 16 pixels a register tile, as winogradMultiply, each tile's
;;   16 pixels one 64-byte row of T per k (26 instructions per k for 32 multiply-adds as V8 compiles it; gemm.wat's
;;   $micro reading A's rows through offset tables takes ~35).
;; - out[n, f, p] = bias[f] + M[f, i P + p], ReLU after it when asked ($packedPlanesOut): each image's planes in NCHW.
;; Each output is the GEMM path's sum bit for bit: ((0 + W[f, 0] x[0]) + W[f, 1] x[1]) + ... over k in order, a
;; f32x4.mul then a f32x4.add each, in blocks of 256 k whose sums start from +0 and are added to what the blocks before
;; stored (the block's sum first, as $micro's $load adds it), then bias + sum as $rowsToNchw adds it, then relu.wat's
;; ReLU (v128.andnot of x <= 0).

  ;; Images [n0, n1) (in groups of up to G from n0; n0 a multiple of runChunks' align, G or in a job's tail half of it)
  ;; of x [N, C, H, W] by the filters in pairs at $u (conv-packed.ts' packFilterPairs), plus $bias [FN], into
  ;; $out [N, FN, OH, OW]; ReLU too when $reluOut. $plan: i32 table of the shape
  ;; (conv-packed.ts' packedForwardPlan): C, H, W, FH, FW, stride, pad, OH, OW (>= 4), FN (>= 2), G, then bytes: a row of
  ;; T (ldT, a multiple of 64), a row of M (ldM), M's and the phases' place in the slot, then a phase row's floats (L),
  ;; then bytes again: the area before the phase planes (R, or at stride 2 the split's masks), the phase area's (that
  ;; area, then the s phase planes of Hp rows of L floats), the slot's. The slot ($scratch: one i32 flag per slot, at most
  ;; 256, then from byte 1024 slots of that size, as winograd.wat's $winogradClaimSlot claims them) holds T, M and the
  ;; phase area.
  (func $convPackedImages (export "convPackedImages")
    (param $n0 i32) (param $n1 i32) (param $x i32) (param $u i32) (param $bias i32) (param $out i32) (param $reluOut i32)
    (param $scratch i32) (param $plan i32)
    (local $C i32) (local $H i32) (local $W i32) (local $FH i32) (local $FW i32) (local $s i32) (local $pad i32)
    (local $OH i32) (local $OW i32) (local $FN i32) (local $G i32) (local $ldT i32) (local $ldM i32)
    (local $L i32) (local $rBytes i32) (local $phBytes i32)
    (local $slot i32) (local $t i32) (local $m i32) (local $ph i32) (local $p i32) (local $end i32)
    (local $Kc i32) (local $P i32) (local $imgBytes i32) (local $planeOut i32) (local $n i32) (local $g i32) (local $i i32) (local $kb i32)
    (local.set $C (i32.load offset=0 (local.get $plan)))
    (local.set $H (i32.load offset=4 (local.get $plan)))
    (local.set $W (i32.load offset=8 (local.get $plan)))
    (local.set $FH (i32.load offset=12 (local.get $plan)))
    (local.set $FW (i32.load offset=16 (local.get $plan)))
    (local.set $s (i32.load offset=20 (local.get $plan)))
    (local.set $pad (i32.load offset=24 (local.get $plan)))
    (local.set $OH (i32.load offset=28 (local.get $plan)))
    (local.set $OW (i32.load offset=32 (local.get $plan)))
    (local.set $FN (i32.load offset=36 (local.get $plan)))
    (local.set $G (i32.load offset=40 (local.get $plan)))
    (local.set $ldT (i32.load offset=44 (local.get $plan)))
    (local.set $ldM (i32.load offset=48 (local.get $plan)))
    (local.set $L (i32.load offset=60 (local.get $plan)))
    (local.set $rBytes (i32.load offset=64 (local.get $plan)))
    (local.set $phBytes (i32.load offset=68 (local.get $plan)))
    (local.set $slot (call $winogradClaimSlot (local.get $scratch)))
    (local.set $t (i32.add (i32.add (local.get $scratch) (i32.const 1024)) (i32.mul (local.get $slot) (i32.load offset=72 (local.get $plan)))))
    (local.set $m (i32.add (local.get $t) (i32.load offset=52 (local.get $plan))))
    (local.set $ph (i32.add (local.get $t) (i32.load offset=56 (local.get $plan))))
    ;; the padding: zeros in R and the phase planes, which the images' rows never overwrite
    (local.set $p (local.get $ph))
    (local.set $end (i32.add (local.get $ph) (local.get $phBytes)))
    (block $zeroed
      (loop $zero
        (br_if $zeroed (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $zero)))
    ;; at stride 2 (pad <= 8) the rows are split straight from x, 8 floats from column 8i - pad a step i: the lanes
    ;; inside the row kept by masks at $ph (two vectors a step), the rest (padding, or the rows around) dropped
    (if (i32.and (i32.eq (local.get $s) (i32.const 2)) (i32.le_u (local.get $pad) (i32.const 8)))
      (then
        (local.set $p (i32.sub (i32.const 0) (local.get $pad)))
        (local.set $end (local.get $ph))
        (loop $masks
          (v128.store (local.get $end) (v128.and
            (i32x4.ge_s (i32x4.add (i32x4.splat (local.get $p)) (v128.const i32x4 0 1 2 3)) (v128.const i32x4 0 0 0 0))
            (i32x4.lt_s (i32x4.add (i32x4.splat (local.get $p)) (v128.const i32x4 0 1 2 3)) (i32x4.splat (local.get $W)))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (local.set $end (i32.add (local.get $end) (i32.const 16)))
          (br_if $masks (i32.lt_s (local.get $p) (i32.sub (i32.shl (local.get $L) (i32.const 1)) (local.get $pad)))))))
    (local.set $Kc (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW))))
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $imgBytes (i32.shl (i32.mul (local.get $C) (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))
    (local.set $planeOut (i32.shl (i32.mul (local.get $FN) (local.get $P)) (i32.const 2)))
    (local.set $n (local.get $n0))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        (local.set $g (i32.sub (local.get $n1) (local.get $n)))
        (if (i32.gt_u (local.get $g) (local.get $G)) (then (local.set $g (local.get $G))))
        (local.set $i (i32.const 0))
        (loop $pack
          (call $packPixelRows (i32.add (local.get $x) (i32.mul (i32.add (local.get $n) (local.get $i)) (local.get $imgBytes)))
            (local.get $C) (local.get $H) (local.get $W) (local.get $FH) (local.get $FW) (local.get $s) (local.get $pad)
            (local.get $OH) (local.get $OW) (i32.add (local.get $t) (i32.shl (i32.mul (local.get $i) (local.get $P)) (i32.const 2)))
            (local.get $ldT) (local.get $ph) (local.get $L) (local.get $rBytes))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $pack (i32.lt_u (local.get $i) (local.get $g))))
        ;; K blocks of 256: rows kb.. of U and of T
        (local.set $kb (i32.const 0))
        (loop $blocks
          (call $packedMultiply (i32.add (local.get $u) (i32.shl (local.get $kb) (i32.const 3))) (i32.shl (local.get $Kc) (i32.const 3))
            (select (i32.const 256) (i32.sub (local.get $Kc) (local.get $kb)) (i32.gt_u (i32.sub (local.get $Kc) (local.get $kb)) (i32.const 256)))
            (local.get $FN) (i32.add (local.get $t) (i32.mul (local.get $kb) (local.get $ldT))) (local.get $ldT)
            (local.get $m) (local.get $ldM) (i32.mul (local.get $g) (local.get $P)) (i32.ne (local.get $kb) (i32.const 0)))
          (local.set $kb (i32.add (local.get $kb) (i32.const 256)))
          (br_if $blocks (i32.lt_u (local.get $kb) (local.get $Kc))))
        (local.set $i (i32.const 0))
        (loop $finish
          (call $packedPlanesOut (i32.add (local.get $m) (i32.shl (i32.mul (local.get $i) (local.get $P)) (i32.const 2))) (local.get $ldM)
            (local.get $P) (local.get $FN) (local.get $bias)
            (i32.add (local.get $out) (i32.mul (i32.add (local.get $n) (local.get $i)) (local.get $planeOut))) (local.get $reluOut))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $finish (i32.lt_u (local.get $i) (local.get $g))))
        (local.set $n (i32.add (local.get $n) (local.get $g)))
        (br $groups)))
    (i32.atomic.store (i32.add (local.get $scratch) (i32.shl (local.get $slot) (i32.const 2))) (i32.const 0)))

  ;; One image's rows of T: T[k, p] at $t + k ldT + 4p for the image x_n [C, H, W] at $xn (see above). Per channel, its
  ;; rows go into the phase planes at $ph (plane φ at $ph + rBytes + φ Hp L 4, padded row iy + pad at L floats a row,
  ;; padded column j s + φ at float j): at stride 1 the plane itself, a row copied in at column pad; at stride 2 a row
  ;; copied into R (at $ph, padded) and split into its even and odd columns by shuffles of two loads; at larger strides
  ;; the same float by float. Then each run (k, oy): OW floats from phase fx mod s, row oy s + fy, float fx / s on, by
  ;; vectors (the last one ending at the run's end) where OW >= 4.
  (func $packPixelRows
    (param $xn i32) (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32) (param $s i32) (param $pad i32)
    (param $OH i32) (param $OW i32) (param $t i32) (param $ldT i32) (param $ph i32) (param $L i32) (param $rBytes i32)
    (local $c i32) (local $iy i32) (local $fy i32) (local $fx i32) (local $oy i32) (local $j i32) (local $phi i32)
    (local $planes i32) (local $planeBytes i32) (local $row4 i32) (local $W4 i32) (local $OW4 i32) (local $runStep i32) (local $last i32)
    (local $src i32) (local $dst i32) (local $end i32) (local $mk i32) (local $runsBytes i32) (local $row i32) (local $q i32) (local $splitX i32) (local $a v128) (local $b v128)
    (local.set $planes (i32.add (local.get $ph) (local.get $rBytes)))
    (local.set $splitX (i32.and (i32.eq (local.get $s) (i32.const 2)) (i32.le_u (local.get $pad) (i32.const 8))))
    (local.set $row4 (i32.shl (local.get $L) (i32.const 2)))
    (local.set $planeBytes (i32.mul (i32.add (local.get $H) (i32.shl (local.get $pad) (i32.const 1))) (local.get $row4)))
    (local.set $W4 (i32.shl (local.get $W) (i32.const 2)))
    (local.set $OW4 (i32.shl (local.get $OW) (i32.const 2)))
    ;; a run's next row in its phase plane; a run's last vector, OW - 4 floats on
    (local.set $runStep (i32.mul (local.get $s) (local.get $row4)))
    (local.set $last (i32.sub (local.get $OW4) (i32.const 16)))
    (local.set $runsBytes (i32.mul (local.get $OH) (local.get $OW4)))
    (loop $channels
      ;; the channel's rows into the phase planes
      (local.set $iy (i32.const 0))
      (loop $rows
        (local.set $src (i32.add (local.get $xn) (i32.mul (i32.add (i32.mul (local.get $c) (local.get $H)) (local.get $iy)) (local.get $W4))))
        (local.set $row (i32.add (local.get $planes) (i32.mul (i32.add (local.get $iy) (local.get $pad)) (local.get $row4))))
        (if (local.get $splitX)
          (then
            ;; even and odd padded columns from x itself (no copy first: a load spanning two stores still in flight
            ;; waits for them), masked by the table at $ph
            (local.set $src (i32.sub (local.get $src) (i32.shl (local.get $pad) (i32.const 2))))
            (local.set $mk (local.get $ph))
            (local.set $dst (local.get $row))
            (local.set $end (i32.add (local.get $row) (local.get $row4)))
            (loop $split
              (local.set $a (v128.and (v128.load (local.get $src)) (v128.load (local.get $mk))))
              (local.set $b (v128.and (v128.load offset=16 (local.get $src)) (v128.load offset=16 (local.get $mk))))
              (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a) (local.get $b)))
              (v128.store (i32.add (local.get $dst) (local.get $planeBytes)) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a) (local.get $b)))
              (local.set $src (i32.add (local.get $src) (i32.const 32)))
              (local.set $mk (i32.add (local.get $mk) (i32.const 32)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br_if $split (i32.lt_u (local.get $dst) (local.get $end)))))
          (else
            (call $copyRun (local.get $src)
              (i32.add (select (local.get $row) (local.get $ph) (i32.eq (local.get $s) (i32.const 1))) (i32.shl (local.get $pad) (i32.const 2)))
              (local.get $W4))))
        (if (i32.and (i32.gt_u (local.get $s) (i32.const 1)) (i32.eqz (local.get $splitX)))
          (then
            (local.set $phi (i32.const 0))
            (loop $phases
              (local.set $j (i32.const 0))
              (loop $split
                (f32.store (i32.add (i32.add (local.get $row) (i32.mul (local.get $phi) (local.get $planeBytes))) (i32.shl (local.get $j) (i32.const 2)))
                  (f32.load (i32.add (local.get $ph) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $s)) (local.get $phi)) (i32.const 2)))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $split (i32.lt_u (local.get $j) (local.get $L))))
              (local.set $phi (i32.add (local.get $phi) (i32.const 1)))
              (br_if $phases (i32.lt_u (local.get $phi) (local.get $s))))))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $iy) (local.get $H))))
      ;; the channel's FH FW rows of T, OH runs each
      (local.set $fy (i32.const 0))
      (loop $taps
        (local.set $fx (i32.const 0))
        (loop $tapsX
          (local.set $src (i32.add (i32.add (local.get $planes) (i32.mul (i32.rem_u (local.get $fx) (local.get $s)) (local.get $planeBytes)))
            (i32.add (i32.mul (local.get $fy) (local.get $row4)) (i32.shl (i32.div_u (local.get $fx) (local.get $s)) (i32.const 2)))))
          (local.set $dst (local.get $t))
          (local.set $end (i32.add (local.get $t) (local.get $runsBytes)))
          (loop $runs
            (local.set $q (i32.const 0))
            (loop $vector
              (v128.store (i32.add (local.get $dst) (local.get $q)) (v128.load (i32.add (local.get $src) (local.get $q))))
              (local.set $q (i32.add (local.get $q) (i32.const 16)))
              (br_if $vector (i32.lt_u (local.get $q) (local.get $last))))
            (v128.store (i32.add (local.get $dst) (local.get $last)) (v128.load (i32.add (local.get $src) (local.get $last))))
            (local.set $src (i32.add (local.get $src) (local.get $runStep)))
            (local.set $dst (i32.add (local.get $dst) (local.get $OW4)))
            (br_if $runs (i32.lt_u (local.get $dst) (local.get $end))))
          (local.set $t (i32.add (local.get $t) (local.get $ldT)))
          (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
          (br_if $tapsX (i32.lt_u (local.get $fx) (local.get $FW))))
        (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
        (br_if $taps (i32.lt_u (local.get $fy) (local.get $FH))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $channels (i32.lt_u (local.get $c) (local.get $C)))))

  ;; $bytes (a multiple of 4) from $src to $dst: by vectors, the last ending at the end, when there are at least 16;
  ;; else float by float.
  (func $copyRun (param $src i32) (param $dst i32) (param $bytes i32)
    (local $q i32) (local $last i32)
    (local.set $last (i32.sub (local.get $bytes) (i32.const 16)))
    (if (i32.ge_s (local.get $last) (i32.const 0))
      (then
        (block $vectors
          (loop $vector
            (br_if $vectors (i32.ge_u (local.get $q) (local.get $last)))
            (v128.store (i32.add (local.get $dst) (local.get $q)) (v128.load (i32.add (local.get $src) (local.get $q))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $vector)))
        (v128.store (i32.add (local.get $dst) (local.get $last)) (v128.load (i32.add (local.get $src) (local.get $last)))))
      (else
        (block $floats
          (loop $float
            (br_if $floats (i32.ge_u (local.get $q) (local.get $bytes)))
            (f32.store (i32.add (local.get $dst) (local.get $q)) (f32.load (i32.add (local.get $src) (local.get $q))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $float))))))

  ;; M [FN, cols] (+)= W [FN, kc] x V [kc, cols], W's filters in pairs (U: pair j's kc (W[r, k], W[r + 1, k]) at $u + j
  ;; $pairBytes, conv-packed.ts' packFilterPairs), V's rows $ldv bytes apart at $v, M's $ldm bytes apart at $m; $load 1
  ;; adds each tile's sum to what M holds (the sum first), 0 stores it. A register tile is 2 rows of M (filters row,
  ;; row + 1; the last pair at FN - 2 when FN is odd, recomputing a row: the same bits, stored once) x 16 columns, V's 16
  ;; floats of a k one 64-byte row segment: 8 accumulators, 4 vectors of V and a broadcast U, as winogradMultiply, one
  ;; pointer into V for the 4 loads and one into U for the 2 broadcasts. Columns go in whole 16s: V and M must span cols
  ;; rounded up to 16 (what lies past cols in V only reaches M's columns past cols, which nobody reads).
  (func $packedMultiply
    (param $u i32) (param $pairBytes i32) (param $kc i32) (param $FN i32) (param $v i32) (param $ldv i32) (param $m i32) (param $ldm i32) (param $cols i32) (param $load i32)
    (local $col i32) (local $colEnd i32) (local $pm i32) (local $k0 i32) (local $row i32) (local $pa i32) (local $pb i32) (local $end i32)
    (local $pc i32) (local $pu i32) (local $f0 i32) (local $f1 i32) (local $groupFilters i32) (local $fit i32) (local $allPairs i32) (local $groups i32)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $colEnd (i32.add (local.get $v) (i32.shl (i32.shr_u (i32.add (local.get $cols) (i32.const 15)) (i32.const 4)) (i32.const 6))))
    ;; filters f0 .. f1 - 1 over all the columns, then the next group: their U (8 kc bytes a pair) and a 16-column strip
    ;; of V (kc rows of 64 bytes) stay in L1 together (24 KiB at most) while the tiles walk down the strip. The most
    ;; pairs that fit, then as many groups as that takes, of pairs shared out evenly.
    (local.set $fit (i32.sub (i32.div_u (i32.const 3072) (local.get $kc)) (i32.const 8)))
    (if (i32.lt_s (local.get $fit) (i32.const 1)) (then (local.set $fit (i32.const 1))))
    (local.set $allPairs (i32.shr_u (i32.add (local.get $FN) (i32.const 1)) (i32.const 1)))
    (local.set $groups (i32.div_u (i32.add (local.get $allPairs) (i32.sub (local.get $fit) (i32.const 1))) (local.get $fit)))
    (local.set $groupFilters (i32.shl (i32.div_u (i32.add (local.get $allPairs) (i32.sub (local.get $groups) (i32.const 1))) (local.get $groups)) (i32.const 1)))
    (loop $filterGroups
      (local.set $f1 (i32.add (local.get $f0) (local.get $groupFilters)))
      (if (i32.gt_u (local.get $f1) (local.get $FN)) (then (local.set $f1 (local.get $FN))))
      (local.set $col (local.get $v))
      (local.set $pm (local.get $m))
      (loop $pairs
        (local.set $k0 (local.get $f0))
        (local.set $pu (i32.add (local.get $u) (i32.mul (i32.shr_u (local.get $f0) (i32.const 1)) (local.get $pairBytes))))
        (loop $rows
          (local.set $row (select (local.get $k0) (i32.sub (local.get $FN) (i32.const 2))
            (i32.le_u (i32.add (local.get $k0) (i32.const 2)) (local.get $FN))))
          (local.set $pa (local.get $pu))
          (local.set $end (i32.add (local.get $pa) (i32.shl (local.get $kc) (i32.const 3))))
          (local.set $pb (local.get $col))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c02 (v128.const i32x4 0 0 0 0)) (local.set $c03 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c12 (v128.const i32x4 0 0 0 0)) (local.set $c13 (v128.const i32x4 0 0 0 0))
          (loop $k
            (local.set $b0 (v128.load (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $b2 (v128.load offset=32 (local.get $pb)))
            (local.set $b3 (v128.load offset=48 (local.get $pb)))
            (local.set $a (v128.load32_splat offset=0 (local.get $pa)))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $a) (local.get $b2))))
            (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $a) (local.get $b3))))
            (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
            (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $a) (local.get $b2))))
            (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $a) (local.get $b3))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
            (local.set $pb (i32.add (local.get $pb) (local.get $ldv)))
            (br_if $k (i32.lt_u (local.get $pa) (local.get $end))))
          ;; rows row, row + 1 of M, 16 columns each; a recomputed row (row < k0) was stored by the tile before, and
          ;; with $load a second store would add its sum twice
          (local.set $pc (i32.add (local.get $pm) (i32.mul (local.get $row) (local.get $ldm))))
          (if (i32.eq (local.get $row) (local.get $k0))
            (then
              (if (local.get $load)
                (then
                  (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $pc))))
                  (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $pc))))
                  (local.set $c02 (f32x4.add (local.get $c02) (v128.load offset=32 (local.get $pc))))
                  (local.set $c03 (f32x4.add (local.get $c03) (v128.load offset=48 (local.get $pc))))))
              (v128.store (local.get $pc) (local.get $c00))
              (v128.store offset=16 (local.get $pc) (local.get $c01))
              (v128.store offset=32 (local.get $pc) (local.get $c02))
              (v128.store offset=48 (local.get $pc) (local.get $c03))))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldm)))
          (if (local.get $load)
            (then
              (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $pc))))
              (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $pc))))
              (local.set $c12 (f32x4.add (local.get $c12) (v128.load offset=32 (local.get $pc))))
              (local.set $c13 (f32x4.add (local.get $c13) (v128.load offset=48 (local.get $pc))))))
          (v128.store (local.get $pc) (local.get $c10))
          (v128.store offset=16 (local.get $pc) (local.get $c11))
          (v128.store offset=32 (local.get $pc) (local.get $c12))
          (v128.store offset=48 (local.get $pc) (local.get $c13))
          (local.set $pu (i32.add (local.get $pu) (local.get $pairBytes)))
          (local.set $k0 (i32.add (local.get $k0) (i32.const 2)))
          (br_if $rows (i32.lt_u (local.get $k0) (local.get $f1))))
        (local.set $col (i32.add (local.get $col) (i32.const 64)))
        (local.set $pm (i32.add (local.get $pm) (i32.const 64)))
        (br_if $pairs (i32.lt_u (local.get $col) (local.get $colEnd))))
      (local.set $f0 (local.get $f1))
      (br_if $filterGroups (i32.lt_u (local.get $f0) (local.get $FN)))))

  ;; One image's planes out of M: out[f, p] = bias[f] + M[f, p] for p < P (P >= 4; M's rows $ldm bytes apart at $mi,
  ;; out's P floats apart at $outn), then with $relu x <= 0 ? +0 : x as relu.wat's $relu (v128.andnot of the compare: a
  ;; NaN passes through). By vectors, the last one ending at the plane's end.
  (func $packedPlanesOut
    (param $mi i32) (param $ldm i32) (param $P i32) (param $FN i32) (param $bias i32) (param $outn i32) (param $relu i32)
    (local $f i32) (local $q i32) (local $last i32) (local $P4 i32) (local $b v128) (local $v v128) (local $mask v128)
    (local.set $P4 (i32.shl (local.get $P) (i32.const 2)))
    (local.set $last (i32.sub (local.get $P4) (i32.const 16)))
    ;; all ones with ReLU, else zeros: the compare's lanes kept or dropped
    (local.set $mask (i32x4.splat (i32.sub (i32.const 0) (i32.ne (local.get $relu) (i32.const 0)))))
    (loop $planes
      (local.set $b (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
      (local.set $q (i32.const 0))
      (loop $vectors
        (local.set $v (f32x4.add (local.get $b) (v128.load (i32.add (local.get $mi) (local.get $q)))))
        (v128.store (i32.add (local.get $outn) (local.get $q))
          (v128.andnot (local.get $v) (v128.and (f32x4.le (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $mask))))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br_if $vectors (i32.lt_u (local.get $q) (local.get $last))))
      (local.set $v (f32x4.add (local.get $b) (v128.load (i32.add (local.get $mi) (local.get $last)))))
      (v128.store (i32.add (local.get $outn) (local.get $last))
        (v128.andnot (local.get $v) (v128.and (f32x4.le (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $mask))))
      (local.set $mi (i32.add (local.get $mi) (local.get $ldm)))
      (local.set $outn (i32.add (local.get $outn) (local.get $P4)))
      (local.set $f (i32.add (local.get $f) (i32.const 1)))
      (br_if $planes (i32.lt_u (local.get $f) (local.get $FN)))))

;; 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray 2016): each 2x2 block of output
;; pixels ("tile") of one filter k is Aᵀ [ Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A, with d_c the 4x4 patch of input channel c
;; under the tile and ⊙ the element-wise product: 16 multiplications per tile and channel pair instead of 36. Per
;; element ξ of the 4x4 transformed tile the sum over channels is a matrix product, so a block of tiles takes 16
;; GEMMs M_ξ [K, tiles] = U_ξ [K, C] x V_ξ [C, tiles] through winograd-multiply.wat's $winogradMultiply (gemm.wat's
;; $gemmRows for sums deeper than 256 channels), between the input transform (V = Bᵀ d B, written straight into the
;; packed-B panels the GEMM reads) and the output transform (Aᵀ M A, plus the bias, written into NCHW). The transforms
;; run on four horizontally adjacent tiles at once, one tile a lane.
;;
;;   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 -1 -1]
;;
;; F(4x4, 3x3) goes the same way with 6x6 transformed tiles of 4x4 outputs: 36 GEMMs, $winogradInputTiles6 for V and
;; $winogradOutputTiles6 for Y ($winogradTiles' $tm chooses), 36 products per 16 outputs where F(2x2, 3x3) takes 64:
;;
;;   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
;;   G = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
;;
;; The filters' transform U = G g Gᵀ is done by the caller (winograd.ts), once per call, in float64.
;;
;; The filter gradient (winogradDwTiles, at the end) goes by F(2x2, 3x3) or F(4x4, 3x3): sums over tiles of the
;; transformed x and dy, 16 or 36 products per tile and filter-channel pair, brought back to 3x3 by the caller.

  ;; Eight output floats (a then b) to $dst, or the first $cols of them when fewer than 8 (the row's last tiles): the
  ;; whole vectors that fit, then the last 1..3 floats by lane stores (8 bytes, then 4), so nothing past the row's end is
  ;; written. Through a 32-byte buffer and a float-by-float loop this was 2-4% of a training step. F(2x2, 3x3)'s rows;
  ;; $winogradOutputTiles6 stores F(4x4, 3x3)'s the same way in its own loop (calls there cost V8's spills around them).
  ;; With $toAddend nonzero, first each float plus the addend's float $toAddend bytes on, then ReLU (see $winogradTiles'
  ;; $epilogue): the addend read by whole vectors (a vector is read only where its first float is the row's), up to 12
  ;; bytes past a partial row's last float.
  (func $winogradStoreRow (param $dst i32) (param $a v128) (param $b v128) (param $cols i32) (param $toAddend i32)
    (if (local.get $toAddend)
      (then
        (local.set $a (f32x4.add (local.get $a) (v128.load (i32.add (local.get $dst) (local.get $toAddend)))))
        (local.set $a (v128.andnot (local.get $a) (f32x4.le (local.get $a) (v128.const i32x4 0 0 0 0))))
        (if (i32.gt_u (local.get $cols) (i32.const 4))
          (then
            (local.set $b (f32x4.add (local.get $b) (v128.load offset=16 (i32.add (local.get $dst) (local.get $toAddend)))))
            (local.set $b (v128.andnot (local.get $b) (f32x4.le (local.get $b) (v128.const i32x4 0 0 0 0))))))))
    (if (i32.ge_u (local.get $cols) (i32.const 8))
      (then
        (v128.store (local.get $dst) (local.get $a))
        (v128.store offset=16 (local.get $dst) (local.get $b))
        (return)))
    ;; 4..7: a whole, then the first cols - 4 floats of b as the first of a
    (if (i32.ge_u (local.get $cols) (i32.const 4))
      (then
        (v128.store (local.get $dst) (local.get $a))
        (local.set $a (local.get $b))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $cols (i32.sub (local.get $cols) (i32.const 4)))))
    ;; the first 0..3 floats of a
    (if (i32.ge_u (local.get $cols) (i32.const 2))
      (then
        (v128.store64_lane 0 (local.get $dst) (local.get $a))
        (if (i32.eq (local.get $cols) (i32.const 3))
          (then (v128.store32_lane offset=8 2 (local.get $dst) (local.get $a)))))
      (else
        (if (local.get $cols)
          (then (v128.store32_lane 0 (local.get $dst) (local.get $a)))))))

  ;; V = Bᵀ d B of four horizontally adjacent tiles (one a lane) in each of $C channels: the 4x4 patches start at $p
  ;; (rows $rowBytes apart, channels $planeBytes apart); channel c's 16 results go to $v + c $vStep + ξ $vStride.
  (func $winogradInputTiles
    (param $p i32) (param $v i32) (param $C i32) (param $planeBytes i32) (param $rowBytes i32) (param $vStride i32) (param $vStep i32)
    (local $c i32) (local $row i32) (local $l0 v128) (local $l1 v128) (local $h0 v128) (local $h1 v128)
    (local $d00 v128) (local $d01 v128) (local $d02 v128) (local $d03 v128) (local $d10 v128) (local $d11 v128) (local $d12 v128) (local $d13 v128)
    (local $d20 v128) (local $d21 v128) (local $d22 v128) (local $d23 v128) (local $d30 v128) (local $d31 v128) (local $d32 v128) (local $d33 v128)
    (local $e00 v128) (local $e01 v128) (local $e02 v128) (local $e03 v128) (local $e10 v128) (local $e11 v128) (local $e12 v128) (local $e13 v128)
    (local $e20 v128) (local $e21 v128) (local $e22 v128) (local $e23 v128) (local $e30 v128) (local $e31 v128) (local $e32 v128) (local $e33 v128)
    (local.set $c (i32.const 0))
    (block $chDone
      (loop $channels
        (br_if $chDone (i32.ge_u (local.get $c) (local.get $C)))
        ;; the 4x4 patches of the four tiles, row r as four vectors of columns (lane j: tile j): columns 0 and 1
        ;; are the even and odd floats of the row's floats 0..7, columns 2 and 3 those of its floats 2..9
        (local.set $row (local.get $p))
        (local.set $l0 (v128.load (local.get $row))) (local.set $l1 (v128.load offset=16 (local.get $row)))
        (local.set $h0 (v128.load offset=8 (local.get $row))) (local.set $h1 (v128.load offset=24 (local.get $row)))
        (local.set $d00 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $l0) (local.get $l1))) (local.set $d01 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $l0) (local.get $l1)))
        (local.set $d02 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $h0) (local.get $h1))) (local.set $d03 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $h0) (local.get $h1)))
        (local.set $row (i32.add (local.get $p) (i32.mul (local.get $rowBytes) (i32.const 1))))
        (local.set $l0 (v128.load (local.get $row))) (local.set $l1 (v128.load offset=16 (local.get $row)))
        (local.set $h0 (v128.load offset=8 (local.get $row))) (local.set $h1 (v128.load offset=24 (local.get $row)))
        (local.set $d10 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $l0) (local.get $l1))) (local.set $d11 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $l0) (local.get $l1)))
        (local.set $d12 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $h0) (local.get $h1))) (local.set $d13 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $h0) (local.get $h1)))
        (local.set $row (i32.add (local.get $p) (i32.mul (local.get $rowBytes) (i32.const 2))))
        (local.set $l0 (v128.load (local.get $row))) (local.set $l1 (v128.load offset=16 (local.get $row)))
        (local.set $h0 (v128.load offset=8 (local.get $row))) (local.set $h1 (v128.load offset=24 (local.get $row)))
        (local.set $d20 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $l0) (local.get $l1))) (local.set $d21 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $l0) (local.get $l1)))
        (local.set $d22 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $h0) (local.get $h1))) (local.set $d23 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $h0) (local.get $h1)))
        (local.set $row (i32.add (local.get $p) (i32.mul (local.get $rowBytes) (i32.const 3))))
        (local.set $l0 (v128.load (local.get $row))) (local.set $l1 (v128.load offset=16 (local.get $row)))
        (local.set $h0 (v128.load offset=8 (local.get $row))) (local.set $h1 (v128.load offset=24 (local.get $row)))
        (local.set $d30 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $l0) (local.get $l1))) (local.set $d31 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $l0) (local.get $l1)))
        (local.set $d32 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $h0) (local.get $h1))) (local.set $d33 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $h0) (local.get $h1)))
        ;; Bᵀ d: over the rows (e0 = d0 - d2, e1 = d1 + d2, e2 = d2 - d1, e3 = d1 - d3), into $e..
        (local.set $e00 (f32x4.sub (local.get $d00) (local.get $d20))) (local.set $e10 (f32x4.add (local.get $d10) (local.get $d20)))
        (local.set $e20 (f32x4.sub (local.get $d20) (local.get $d10))) (local.set $e30 (f32x4.sub (local.get $d10) (local.get $d30)))
        (local.set $e01 (f32x4.sub (local.get $d01) (local.get $d21))) (local.set $e11 (f32x4.add (local.get $d11) (local.get $d21)))
        (local.set $e21 (f32x4.sub (local.get $d21) (local.get $d11))) (local.set $e31 (f32x4.sub (local.get $d11) (local.get $d31)))
        (local.set $e02 (f32x4.sub (local.get $d02) (local.get $d22))) (local.set $e12 (f32x4.add (local.get $d12) (local.get $d22)))
        (local.set $e22 (f32x4.sub (local.get $d22) (local.get $d12))) (local.set $e32 (f32x4.sub (local.get $d12) (local.get $d32)))
        (local.set $e03 (f32x4.sub (local.get $d03) (local.get $d23))) (local.set $e13 (f32x4.add (local.get $d13) (local.get $d23)))
        (local.set $e23 (f32x4.sub (local.get $d23) (local.get $d13))) (local.set $e33 (f32x4.sub (local.get $d13) (local.get $d33)))
        ;; (Bᵀ d) B: the same over the columns, each of the 16 results stored to its matrix ξ = 4i + j
        (v128.store (local.get $v) (f32x4.sub (local.get $e00) (local.get $e02)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 1))) (f32x4.add (local.get $e01) (local.get $e02)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 2))) (f32x4.sub (local.get $e02) (local.get $e01)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 3))) (f32x4.sub (local.get $e01) (local.get $e03)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 4))) (f32x4.sub (local.get $e10) (local.get $e12)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 5))) (f32x4.add (local.get $e11) (local.get $e12)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 6))) (f32x4.sub (local.get $e12) (local.get $e11)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 7))) (f32x4.sub (local.get $e11) (local.get $e13)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 8))) (f32x4.sub (local.get $e20) (local.get $e22)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 9))) (f32x4.add (local.get $e21) (local.get $e22)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 10))) (f32x4.sub (local.get $e22) (local.get $e21)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 11))) (f32x4.sub (local.get $e21) (local.get $e23)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 12))) (f32x4.sub (local.get $e30) (local.get $e32)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 13))) (f32x4.add (local.get $e31) (local.get $e32)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 14))) (f32x4.sub (local.get $e32) (local.get $e31)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 15))) (f32x4.sub (local.get $e31) (local.get $e33)))
        (local.set $p (i32.add (local.get $p) (local.get $planeBytes)))
        (local.set $v (i32.add (local.get $v) (local.get $vStep)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $channels))))

  ;; A free slot of the tiles' scratch at $scratch (one i32 flag per slot, at most 256), claimed (its flag set to 1) until
  ;; the caller stores 0 there again: at most as many chunks run at once as there are threads, and there are as many slots.
  (func $winogradClaimSlot (param $scratch i32) (result i32)
    (local $slot i32)
    (block $claimed
      (loop $claim
        (br_if $claimed (i32.eqz (i32.atomic.rmw.cmpxchg (i32.add (local.get $scratch) (i32.shl (local.get $slot) (i32.const 2))) (i32.const 0) (i32.const 1))))
        (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (i32.const 255)))
        (br $claim)))
    (local.get $slot))

  ;; Tile groups [g0, g1) of the convolution of the padded input $xq [N, C, Hq, Wq] (pad.wat's padPlanes; or see $stripPad) with the transformed
  ;; filters $u (X matrices [C, K], ξ-major: U_ξ[c, k] at u + 4 (ξ C K + c K + k)) into $out [N, K, OH, OW], plus
  ;; $bias [K], then by $epilogue: 0 nothing more, 1 ReLU, any other value the byte address of an addend [N, K, OH, OW]
  ;; whose element is added before ReLU (a residual block's shortcut: one f32 add to the biased output, as a separate sum
  ;; of the stored tensors makes; one parameter, as the threads pass at most 21 arguments). The addend is read by whole
  ;; vectors (one is read only where its first float is the row's), up to 12 bytes past a row's last float, which the caller
  ;; keeps inside the memory. By F($tm x $tm, 3x3): $tm = 2 (X = 16) or 4 (X = 36, Lavin & Gray's F(4x4, 3x3)).
  ;; A group is four tiles, side by side ($groupRows 1: 4 $tm output columns, $tm rows) or 2x2 ($groupRows 2, $tm = 4
  ;; only: 2 $tm columns, 2 $tm rows, for narrow outputs): group g is image g / (tH gW), group row ty = (g mod tH gW) / gW,
  ;; gx = g mod gW, its outputs from row $groupRows $tm ty, column (4 / $groupRows) $tm gx; tiles past the image's edge are
  ;; computed (the padding is zeros) and not stored.
  ;; The groups go through in blocks of $blockGroups (even), whose V and M stay in the cache, in a slot of $scratch that
  ;; this call claims for itself (threads run chunks of groups at once): $scratch holds one i32 flag per slot (at most
  ;; 256), then from byte 1024 slots of $slotBytes: V (X x panels of 8 tiles x C), M (X x [K, 4 blockGroups]), each
  ;; matrix 64 bytes apart, then 576 bytes for the 6x6 transforms ($tm = 4), and when $stripPad is 0 or more 64 for the
  ;; strip's state and the strip.
  ;; $stripPad -1: $xq is padded as above; 0 or more: $xq is the unpadded input [N, C, Hq, Wq] (Hq = H, Wq = W), padded by
  ;; $stripPad $stripGroupRows group rows at a time, as the groups come to them, into the slot's strip (pad.wat's
  ;; $stripRowAt: C x ($stripGroupRows $tm $groupRows + 2) rows of the padded planes' width, which stay in the cache):
  ;; the same values, the same bits, without a padded copy of the whole input.
  ;; Each output is its tile's sums over C in the GEMM's order whichever block or chunk holds the tile: the same bits
  ;; at any thread count. $multiply 1 takes the block's X products by $winogradMultiply (C <= 256, K >= 2), 0 by $gemmRows.
  (func $winogradTiles (export "winogradTiles")
    (param $g0 i32) (param $g1 i32) (param $xq i32) (param $C i32) (param $Hq i32) (param $Wq i32) (param $tH i32) (param $gW i32)
    (param $u i32) (param $K i32) (param $bias i32) (param $epilogue i32) (param $out i32) (param $OH i32) (param $OW i32)
    (param $scratch i32) (param $slotBytes i32) (param $blockGroups i32) (param $tm i32) (param $groupRows i32) (param $multiply i32) (param $stripPad i32) (param $stripGroupRows i32)
    (local $stripRows i32) (local $stripWq i32) (local $strip i32)
    (local $across i32) (local $pb i32) (local $slot i32) (local $vbase i32) (local $mbase i32) (local $tmp i32) (local $tbs i32) (local $vStride i32) (local $mStride i32) (local $xis i32)
    (local $g i32) (local $gb i32) (local $i i32) (local $gi i32) (local $n i32) (local $rem i32) (local $ty i32) (local $gx i32)
    (local $imgGroups i32) (local $planeBytes i32) (local $rowBytes i32) (local $p i32) (local $v i32)
    (local $xi i32) (local $m i32) (local $k i32) (local $oy i32) (local $ox i32) (local $cols i32) (local $dst i32) (local $bv v128)
    (local $d00 v128) (local $d01 v128) (local $d02 v128) (local $d03 v128) (local $d10 v128) (local $d11 v128) (local $d12 v128) (local $d13 v128)
    (local $d20 v128) (local $d21 v128) (local $d22 v128) (local $d23 v128) (local $d30 v128) (local $d31 v128) (local $d32 v128) (local $d33 v128)
    (local $e00 v128) (local $e01 v128) (local $e02 v128) (local $e03 v128) (local $e10 v128) (local $e11 v128) (local $e12 v128) (local $e13 v128)
    (local $y00 v128) (local $y01 v128) (local $y10 v128) (local $y11 v128) (local $toAddend i32) (local $reluFirst i32)
    ;; the addend's element is a fixed distance from its output's; without one, ReLU goes before the stores' shuffles
    (local.set $toAddend (select (i32.sub (local.get $epilogue) (local.get $out)) (i32.const 0) (i32.gt_u (local.get $epilogue) (i32.const 1))))
    (local.set $reluFirst (i32.eq (local.get $epilogue) (i32.const 1)))
    (local.set $slot (call $winogradClaimSlot (local.get $scratch)))
    (local.set $tbs (i32.shl (local.get $blockGroups) (i32.const 2)))
    ;; V_ξ and M_ξ 64 bytes further apart than their sizes: at 4 KiB apart (C = 16) the 16 stores of a transform fell
    ;; in one cache set, and the transforms ran 2x slower
    (local.set $vStride (i32.add (i32.shl (i32.mul (local.get $tbs) (local.get $C)) (i32.const 2)) (i32.const 64)))
    (local.set $mStride (i32.add (i32.shl (i32.mul (local.get $tbs) (local.get $K)) (i32.const 2)) (i32.const 64)))
    (local.set $vbase (i32.add (i32.add (local.get $scratch) (i32.const 1024)) (i32.mul (local.get $slot) (local.get $slotBytes))))
    (local.set $xis (i32.mul (i32.add (local.get $tm) (i32.const 2)) (i32.add (local.get $tm) (i32.const 2))))
    (local.set $mbase (i32.add (local.get $vbase) (i32.mul (local.get $vStride) (local.get $xis))))
    (local.set $tmp (i32.add (local.get $mbase) (i32.mul (local.get $mStride) (local.get $xis))))
    (local.set $imgGroups (i32.mul (local.get $tH) (local.get $gW)))
    (local.set $planeBytes (i32.shl (i32.mul (local.get $Hq) (local.get $Wq)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $Wq) (i32.const 2)))
    (local.set $across (i32.shr_u (i32.const 4) (i32.sub (local.get $groupRows) (i32.const 1))))
    (if (i32.ge_s (local.get $stripPad) (i32.const 0))
      (then
        ;; the transforms read a strip of $stripRows padded rows of $stripWq floats (the padded plane's width) at $strip,
        ;; its state at $tmp + 576 (pad.wat's $stripRowAt)
        (local.set $stripRows (i32.add (i32.mul (i32.mul (local.get $stripGroupRows) (local.get $tm)) (local.get $groupRows)) (i32.const 2)))
        (local.set $stripWq (i32.add (i32.mul (i32.mul (local.get $tm) (local.get $across)) (local.get $gW)) (select (i32.const 2) (i32.const 4) (i32.eq (local.get $tm) (i32.const 2)))))
        (local.set $strip (i32.add (local.get $tmp) (i32.const 640)))
        (i32.store offset=576 (local.get $tmp) (i32.const -1))
        (local.set $planeBytes (i32.shl (i32.mul (local.get $stripRows) (local.get $stripWq)) (i32.const 2)))
        (local.set $rowBytes (i32.shl (local.get $stripWq) (i32.const 2)))))
    (local.set $g (local.get $g0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $g) (local.get $g1)))
        (local.set $gb (i32.sub (local.get $g1) (local.get $g)))
        (if (i32.gt_u (local.get $gb) (local.get $blockGroups)) (then (local.set $gb (local.get $blockGroups))))
        ;; V_ξ = Bᵀ d B for each group and channel, into panels of 8 tiles: tile t, channel c at 4 ((t >> 3) 8 C + 8 c + (t & 7));
        ;; the group's patches start at its first output's row and column (the padded input's origin is the patch's)
        (local.set $i (i32.const 0))
        (block $inDone
          (loop $inGroups
            (br_if $inDone (i32.ge_u (local.get $i) (local.get $gb)))
            (local.set $gi (i32.add (local.get $g) (local.get $i)))
            (local.set $n (i32.div_u (local.get $gi) (local.get $imgGroups)))
            (local.set $rem (i32.sub (local.get $gi) (i32.mul (local.get $n) (local.get $imgGroups))))
            (local.set $ty (i32.div_u (local.get $rem) (local.get $gW)))
            (local.set $gx (i32.sub (local.get $rem) (i32.mul (local.get $ty) (local.get $gW))))
            (local.set $oy (i32.mul (i32.mul (local.get $ty) (local.get $tm)) (local.get $groupRows)))
            (local.set $ox (i32.mul (i32.mul (local.get $gx) (local.get $tm)) (local.get $across)))
            (if (i32.ge_s (local.get $stripPad) (i32.const 0))
              (then
                ;; the unpadded input: the group's patches in the strip of the padded planes that holds them
                (local.set $p (i32.add (call $stripRowAt (i32.add (local.get $tmp) (i32.const 576)) (local.get $xq) (local.get $n) (local.get $C) (local.get $Hq) (local.get $Wq)
                  (local.get $stripPad) (local.get $oy) (i32.add (i32.mul (local.get $tm) (local.get $groupRows)) (i32.const 2)) (local.get $stripRows) (local.get $stripWq) (local.get $strip))
                  (i32.shl (local.get $ox) (i32.const 2)))))
              (else
                (local.set $p (i32.add (local.get $xq) (i32.add (i32.mul (i32.mul (local.get $n) (local.get $C)) (local.get $planeBytes))
                  (i32.shl (i32.add (i32.mul (local.get $oy) (local.get $Wq)) (local.get $ox)) (i32.const 2)))))))
            ;; lanes 2 and 3: two tiles on (side by side) or one tile row down (2x2)
            (local.set $pb (select (i32.add (local.get $p) (i32.shl (local.get $tm) (i32.const 3))) (i32.add (local.get $p) (i32.mul (local.get $tm) (local.get $rowBytes)))
              (i32.eq (local.get $groupRows) (i32.const 1))))
            ;; tile 4i: panel i >> 1, lanes 4 (i & 1) ..
            (local.set $v (i32.add (local.get $vbase) (i32.add (i32.mul (i32.shr_u (local.get $i) (i32.const 1)) (i32.shl (local.get $C) (i32.const 5)))
              (i32.shl (i32.and (local.get $i) (i32.const 1)) (i32.const 4)))))
            (if (i32.eq (local.get $tm) (i32.const 2))
              (then (call $winogradInputTiles (local.get $p) (local.get $v) (local.get $C) (local.get $planeBytes) (local.get $rowBytes) (local.get $vStride) (i32.const 32)))
              (else (call $winogradInputTiles6 (local.get $p) (local.get $pb) (local.get $v) (local.get $C) (local.get $planeBytes) (local.get $rowBytes) (local.get $vStride) (i32.const 32) (local.get $tmp))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $inGroups)))
        ;; M_ξ [K, tiles] = U_ξ [K, C] x V_ξ [C, tiles] (U_ξ stored [C, K]: read transposed in place): all X in one call of
        ;; winograd-multiply.wat's $winogradMultiply ($multiply 1), or one $gemmRows a ξ; the same sums, the same bits
        (if (local.get $multiply)
          (then
            (call $winogradMultiply (local.get $u) (local.get $C) (local.get $K) (local.get $vbase) (local.get $vStride)
              (local.get $mbase) (local.get $mStride) (i32.shl (local.get $gb) (i32.const 2)) (local.get $tbs) (local.get $xis)))
          (else
            (local.set $xi (i32.const 0))
            (block $gemmsDone
              (loop $gemms
                (br_if $gemmsDone (i32.ge_u (local.get $xi) (local.get $xis)))
                (call $gemmRows (i32.const 0) (local.get $K) (i32.shl (local.get $gb) (i32.const 2)) (local.get $C)
                  (i32.add (local.get $u) (i32.shl (i32.mul (i32.mul (local.get $xi) (local.get $C)) (local.get $K)) (i32.const 2)))
                  (i32.const 1) (local.get $K)
                  (i32.add (local.get $vbase) (i32.mul (local.get $xi) (local.get $vStride)))
                  (i32.add (local.get $mbase) (i32.mul (local.get $xi) (local.get $mStride)))
                  (local.get $tbs) (i32.const 0) (i32.const 0) (i32.const 0))
                (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
                (br $gemms)))))
        ;; Y = Aᵀ M A (+ bias, ReLU or + addend and ReLU) for each group and filter, two output rows of 8 columns (lane j: tile j)
        (local.set $i (i32.const 0))
        (block $outDone
          (loop $outGroups
            (br_if $outDone (i32.ge_u (local.get $i) (local.get $gb)))
            (local.set $gi (i32.add (local.get $g) (local.get $i)))
            (local.set $n (i32.div_u (local.get $gi) (local.get $imgGroups)))
            (local.set $rem (i32.sub (local.get $gi) (i32.mul (local.get $n) (local.get $imgGroups))))
            (local.set $ty (i32.div_u (local.get $rem) (local.get $gW)))
            (local.set $gx (i32.sub (local.get $rem) (i32.mul (local.get $ty) (local.get $gW))))
            (local.set $oy (i32.mul (i32.mul (local.get $ty) (local.get $tm)) (local.get $groupRows)))
            (local.set $ox (i32.mul (i32.mul (local.get $gx) (local.get $tm)) (local.get $across)))
            (local.set $cols (i32.sub (local.get $OW) (local.get $ox)))
            (local.set $m (i32.add (local.get $mbase) (i32.shl (local.get $i) (i32.const 4))))
            (local.set $dst (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.mul (local.get $n) (local.get $K)) (local.get $OH))
              (local.get $oy)) (local.get $OW)) (local.get $ox)) (i32.const 2))))
            (local.set $k (i32.const 0))
            ;; F(4x4, 3x3): every filter's output transform in one call, so the F(2x2, 3x3) loop below has no filter left
            (if (i32.eq (local.get $tm) (i32.const 4))
              (then
                (call $winogradOutputTiles6 (local.get $m) (local.get $mStride) (i32.shl (local.get $tbs) (i32.const 2)) (local.get $dst)
                  (i32.shl (i32.mul (local.get $OH) (local.get $OW)) (i32.const 2)) (local.get $K) (local.get $bias) (local.get $reluFirst) (local.get $toAddend)
                  (i32.sub (local.get $OH) (local.get $oy)) (local.get $cols) (i32.shl (local.get $OW) (i32.const 2)) (local.get $groupRows) (local.get $tmp))
                (local.set $k (local.get $K))))
            (block $kDone
              (loop $filters
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $K)))
                (local.set $bv (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $k) (i32.const 2)))))
          (local.set $d00 (v128.load (local.get $m)))
          (local.set $d01 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 1)))))
          (local.set $d02 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 2)))))
          (local.set $d03 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 3)))))
          (local.set $d10 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 4)))))
          (local.set $d11 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 5)))))
          (local.set $d12 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 6)))))
          (local.set $d13 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 7)))))
          (local.set $d20 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 8)))))
          (local.set $d21 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 9)))))
          (local.set $d22 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 10)))))
          (local.set $d23 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 11)))))
          (local.set $d30 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 12)))))
          (local.set $d31 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 13)))))
          (local.set $d32 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 14)))))
          (local.set $d33 (v128.load (i32.add (local.get $m) (i32.mul (local.get $mStride) (i32.const 15)))))
          ;; Aᵀ m: over the rows (s = m0 + m1 + m2, t = m1 - m2 - m3), per column j
          (local.set $e00 (f32x4.add (f32x4.add (local.get $d00) (local.get $d10)) (local.get $d20)))
          (local.set $e10 (f32x4.sub (f32x4.sub (local.get $d10) (local.get $d20)) (local.get $d30)))
          (local.set $e01 (f32x4.add (f32x4.add (local.get $d01) (local.get $d11)) (local.get $d21)))
          (local.set $e11 (f32x4.sub (f32x4.sub (local.get $d11) (local.get $d21)) (local.get $d31)))
          (local.set $e02 (f32x4.add (f32x4.add (local.get $d02) (local.get $d12)) (local.get $d22)))
          (local.set $e12 (f32x4.sub (f32x4.sub (local.get $d12) (local.get $d22)) (local.get $d32)))
          (local.set $e03 (f32x4.add (f32x4.add (local.get $d03) (local.get $d13)) (local.get $d23)))
          (local.set $e13 (f32x4.sub (f32x4.sub (local.get $d13) (local.get $d23)) (local.get $d33)))
          ;; (Aᵀ m) A: the same over the columns; y_ab for the tile's output pixel (a, b), plus the bias
          (local.set $y00 (f32x4.add (f32x4.add (f32x4.add (local.get $e00) (local.get $e01)) (local.get $e02)) (local.get $bv)))
          (local.set $y01 (f32x4.add (f32x4.sub (f32x4.sub (local.get $e01) (local.get $e02)) (local.get $e03)) (local.get $bv)))
          (local.set $y10 (f32x4.add (f32x4.add (f32x4.add (local.get $e10) (local.get $e11)) (local.get $e12)) (local.get $bv)))
          (local.set $y11 (f32x4.add (f32x4.sub (f32x4.sub (local.get $e11) (local.get $e12)) (local.get $e13)) (local.get $bv)))
                (if (local.get $reluFirst)
                  (then
                    (local.set $y00 (v128.andnot (local.get $y00) (f32x4.le (local.get $y00) (v128.const i32x4 0 0 0 0))))
                    (local.set $y01 (v128.andnot (local.get $y01) (f32x4.le (local.get $y01) (v128.const i32x4 0 0 0 0))))
                    (local.set $y10 (v128.andnot (local.get $y10) (f32x4.le (local.get $y10) (v128.const i32x4 0 0 0 0))))
                    (local.set $y11 (v128.andnot (local.get $y11) (f32x4.le (local.get $y11) (v128.const i32x4 0 0 0 0))))))
                ;; interleave the tiles' two columns: (y_a0[0], y_a1[0], y_a0[1], y_a1[1]) and the same for lanes 2, 3
                (call $winogradStoreRow (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y00) (local.get $y01))
                  (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y00) (local.get $y01)) (local.get $cols) (local.get $toAddend))
                (if (i32.lt_u (i32.add (local.get $oy) (i32.const 1)) (local.get $OH))
                  (then
                    (call $winogradStoreRow (i32.add (local.get $dst) (i32.shl (local.get $OW) (i32.const 2)))
                      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y10) (local.get $y11)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y10) (local.get $y11)) (local.get $cols)
                      (local.get $toAddend))))
                (local.set $m (i32.add (local.get $m) (i32.shl (local.get $tbs) (i32.const 2))))
                (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $OH) (local.get $OW)) (i32.const 2))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $filters)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $outGroups)))
        (local.set $g (i32.add (local.get $g) (local.get $gb)))
        (br $blocks)))
    (i32.atomic.store (i32.add (local.get $scratch) (i32.shl (local.get $slot) (i32.const 2))) (i32.const 0)))

  ;; Y = Aᵀ M A (+ bias, ReLU or + addend and ReLU) of F(4x4, 3x3) for one group of four tiles (one a lane) and each of $K filters: filter k's
  ;; 36 elements ξ = 6i + j at $m + k $filterStep + ξ $mStride, its outputs from $dst + k $planeBytes (rows $rowBytes apart):
  ;; side by side ($groupRows 1) 4 rows of 16 columns, 2x2 ($groupRows 2) 8 rows of 8 columns (lanes 2 and 3 the lower
  ;; tiles), of which the first $rows rows and $cols columns are stored. Columns first, into 24 vectors at $tmp (row a of
  ;; Aᵀ M at $tmp + 96 a), then rows, each 4x4 block turned so that lane l's tile is 4 floats. ReLU when $relu is 1; with
  ;; $toAddend nonzero instead, each float plus the addend's float $toAddend bytes on, then ReLU, the addend read by whole
  ;; vectors, each where its first float is the run's (up to 12 bytes past a partial run's last float).
  ;;   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
  (func $winogradOutputTiles6
    (param $m i32) (param $mStride i32) (param $filterStep i32) (param $dst i32) (param $planeBytes i32) (param $K i32) (param $bias i32)
    (param $relu i32) (param $toAddend i32) (param $rows i32) (param $cols i32) (param $rowBytes i32) (param $groupRows i32) (param $tmp i32)
    (local $k i32) (local $j i32) (local $a i32) (local $p i32) (local $t i32) (local $row i32) (local $rows4 i32) (local $bv v128)
    (local $half i32) (local $to i32) (local $n i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128)
    (local $s1 v128) (local $d1 v128) (local $s2 v128) (local $d2 v128) (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    ;; the rows of the upper tiles stored: at most 4
    (local.set $rows4 (select (i32.const 4) (local.get $rows) (i32.gt_s (local.get $rows) (i32.const 4))))
    (block $kDone
      (loop $filters
        (br_if $kDone (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $bv (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $k) (i32.const 2)))))
        ;; Aᵀ over each column j: m_0j .. m_5j -> rows 0..3 at $tmp + 96 a + 16 j
        (local.set $j (i32.const 0))
        (block $jDone
          (loop $columns
            (br_if $jDone (i32.ge_u (local.get $j) (i32.const 6)))
            (local.set $p (i32.add (local.get $m) (i32.mul (local.get $j) (local.get $mStride))))
            (local.set $c0 (v128.load (local.get $p)))
            (local.set $c1 (v128.load (i32.add (local.get $p) (i32.mul (local.get $mStride) (i32.const 6)))))
            (local.set $c2 (v128.load (i32.add (local.get $p) (i32.mul (local.get $mStride) (i32.const 12)))))
            (local.set $c3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $mStride) (i32.const 18)))))
            (local.set $c4 (v128.load (i32.add (local.get $p) (i32.mul (local.get $mStride) (i32.const 24)))))
            (local.set $c5 (v128.load (i32.add (local.get $p) (i32.mul (local.get $mStride) (i32.const 30)))))
            (local.set $s1 (f32x4.add (local.get $c1) (local.get $c2)))
            (local.set $d1 (f32x4.sub (local.get $c1) (local.get $c2)))
            (local.set $s2 (f32x4.add (local.get $c3) (local.get $c4)))
            (local.set $d2 (f32x4.sub (local.get $c3) (local.get $c4)))
            (local.set $t (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 4))))
            (v128.store (local.get $t) (f32x4.add (f32x4.add (local.get $c0) (local.get $s1)) (local.get $s2)))
            (v128.store offset=96 (local.get $t) (f32x4.add (local.get $d1) (f32x4.mul (local.get $d2) (v128.const f32x4 2 2 2 2))))
            (v128.store offset=192 (local.get $t) (f32x4.add (local.get $s1) (f32x4.mul (local.get $s2) (v128.const f32x4 4 4 4 4))))
            (v128.store offset=288 (local.get $t) (f32x4.add (f32x4.add (local.get $d1) (f32x4.mul (local.get $d2) (v128.const f32x4 8 8 8 8))) (local.get $c5)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $columns)))
        ;; A over each row a: y_ab for b = 0..3 (lane l: tile l), plus the bias
        (local.set $a (i32.const 0))
        (local.set $row (local.get $dst))
        (block $aDone
          (loop $outRows
            (br_if $aDone (i32.ge_s (local.get $a) (local.get $rows4)))
            (local.set $t (i32.add (local.get $tmp) (i32.mul (local.get $a) (i32.const 96))))
            (local.set $c0 (v128.load (local.get $t)))
            (local.set $c1 (v128.load offset=16 (local.get $t)))
            (local.set $c2 (v128.load offset=32 (local.get $t)))
            (local.set $c3 (v128.load offset=48 (local.get $t)))
            (local.set $c4 (v128.load offset=64 (local.get $t)))
            (local.set $c5 (v128.load offset=80 (local.get $t)))
            (local.set $s1 (f32x4.add (local.get $c1) (local.get $c2)))
            (local.set $d1 (f32x4.sub (local.get $c1) (local.get $c2)))
            (local.set $s2 (f32x4.add (local.get $c3) (local.get $c4)))
            (local.set $d2 (f32x4.sub (local.get $c3) (local.get $c4)))
            (local.set $y0 (f32x4.add (f32x4.add (f32x4.add (local.get $c0) (local.get $s1)) (local.get $s2)) (local.get $bv)))
            (local.set $y1 (f32x4.add (f32x4.add (local.get $d1) (f32x4.mul (local.get $d2) (v128.const f32x4 2 2 2 2))) (local.get $bv)))
            (local.set $y2 (f32x4.add (f32x4.add (local.get $s1) (f32x4.mul (local.get $s2) (v128.const f32x4 4 4 4 4))) (local.get $bv)))
            (local.set $y3 (f32x4.add (f32x4.add (f32x4.add (local.get $d1) (f32x4.mul (local.get $d2) (v128.const f32x4 8 8 8 8))) (local.get $c5)) (local.get $bv)))
            (if (local.get $relu)
              (then
                (local.set $y0 (v128.andnot (local.get $y0) (f32x4.le (local.get $y0) (v128.const i32x4 0 0 0 0))))
                (local.set $y1 (v128.andnot (local.get $y1) (f32x4.le (local.get $y1) (v128.const i32x4 0 0 0 0))))
                (local.set $y2 (v128.andnot (local.get $y2) (f32x4.le (local.get $y2) (v128.const i32x4 0 0 0 0))))
                (local.set $y3 (v128.andnot (local.get $y3) (f32x4.le (local.get $y3) (v128.const i32x4 0 0 0 0))))))
            ;; turn the 4x4 block: (y0[l], y1[l], y2[l], y3[l]) is tile l's 4 columns of this row
            (local.set $s1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y0) (local.get $y1)))
            (local.set $d1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y0) (local.get $y1)))
            (local.set $s2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $y2) (local.get $y3)))
            (local.set $d2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $y2) (local.get $y3)))
            (local.set $y0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s1) (local.get $s2)))
            (local.set $y1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s1) (local.get $s2)))
            (local.set $y2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $d1) (local.get $d2)))
            (local.set $y3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $d1) (local.get $d2)))
            (if (local.get $toAddend)
              (then
                ;; the upper-left run at $row; the other 8 columns on (side by side) or 4 rows down (2x2), if stored
                (local.set $p (i32.add (local.get $row) (local.get $toAddend)))
                (local.set $y0 (f32x4.add (local.get $y0) (v128.load (local.get $p))))
                (local.set $y0 (v128.andnot (local.get $y0) (f32x4.le (local.get $y0) (v128.const i32x4 0 0 0 0))))
                (if (i32.gt_s (local.get $cols) (i32.const 4))
                  (then
                    (local.set $y1 (f32x4.add (local.get $y1) (v128.load offset=16 (local.get $p))))
                    (local.set $y1 (v128.andnot (local.get $y1) (f32x4.le (local.get $y1) (v128.const i32x4 0 0 0 0))))))
                (if (i32.eq (local.get $groupRows) (i32.const 1))
                  (then (local.set $n (i32.sub (local.get $cols) (i32.const 8))) (local.set $p (i32.add (local.get $p) (i32.const 32))))
                  (else
                    (local.set $n (select (local.get $cols) (i32.const 0) (i32.lt_s (i32.add (local.get $a) (i32.const 4)) (local.get $rows))))
                    (local.set $p (i32.add (local.get $p) (i32.shl (local.get $rowBytes) (i32.const 2))))))
                (if (i32.gt_s (local.get $n) (i32.const 0))
                  (then
                    (local.set $y2 (f32x4.add (local.get $y2) (v128.load (local.get $p))))
                    (local.set $y2 (v128.andnot (local.get $y2) (f32x4.le (local.get $y2) (v128.const i32x4 0 0 0 0))))))
                (if (i32.gt_s (local.get $n) (i32.const 4))
                  (then
                    (local.set $y3 (f32x4.add (local.get $y3) (v128.load offset=16 (local.get $p))))
                    (local.set $y3 (v128.andnot (local.get $y3) (f32x4.le (local.get $y3) (v128.const i32x4 0 0 0 0))))))))
            ;; the row's two runs of 8 columns: the upper-left tiles' (y0 y1) at $row, then (y2 y3) 8 columns on (side by side)
            ;; or 4 rows down (2x2: the lower tiles, where the image has that row); each the first $n of its floats, by whole
            ;; vectors and then lane stores (8 bytes, then 4), nothing past the row's end, as $winogradStoreRow stores F(2x2, 3x3)'s
            ;; rows. Here, not through calls of it: V8 spilled this loop's vectors (the bias, the constants 2, 4, 8, the rows)
            ;; around each call and loaded them back, and at 14x14 and 7x7 every row of a group is partial. Profiles of one
            ;; layer's forward and dx, the two builds alternated in 4 processes (self time of the transform and its stores):
            ;; 1.40x at 28x28 (C = K = 16), 1.53x at 14x14 (32), 1.42x at 7x7 (64); all the layer's WebAssembly 1.08x-1.11x.
            (local.set $n (local.get $cols))
            (local.set $to (local.get $row))
            (local.set $half (i32.const 0))
            (loop $halves
              (if (i32.ge_s (local.get $n) (i32.const 8))
                (then
                  (v128.store (local.get $to) (local.get $y0))
                  (v128.store offset=16 (local.get $to) (local.get $y1)))
                (else
                  (if (i32.ge_s (local.get $n) (i32.const 4))
                    (then
                      (v128.store (local.get $to) (local.get $y0))
                      (local.set $y0 (local.get $y1))
                      (local.set $to (i32.add (local.get $to) (i32.const 16)))
                      (local.set $n (i32.sub (local.get $n) (i32.const 4)))))
                  (if (i32.ge_s (local.get $n) (i32.const 2))
                    (then
                      (v128.store64_lane 0 (local.get $to) (local.get $y0))
                      (if (i32.eq (local.get $n) (i32.const 3))
                        (then (v128.store32_lane offset=8 2 (local.get $to) (local.get $y0)))))
                    (else
                      (if (i32.eq (local.get $n) (i32.const 1))
                        (then (v128.store32_lane 0 (local.get $to) (local.get $y0))))))))
              (if (i32.eqz (local.get $half))
                (then
                  (local.set $half (i32.const 1))
                  (local.set $y0 (local.get $y2))
                  (local.set $y1 (local.get $y3))
                  (if (i32.eq (local.get $groupRows) (i32.const 1))
                    (then
                      (local.set $to (i32.add (local.get $row) (i32.const 32)))
                      (local.set $n (i32.sub (local.get $cols) (i32.const 8))))
                    (else
                      (local.set $to (i32.add (local.get $row) (i32.shl (local.get $rowBytes) (i32.const 2))))
                      (local.set $n (select (local.get $cols) (i32.const 0) (i32.lt_s (i32.add (local.get $a) (i32.const 4)) (local.get $rows))))))
                  (br $halves))))
            (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
            (local.set $a (i32.add (local.get $a) (i32.const 1)))
            (br $outRows)))
        (local.set $m (i32.add (local.get $m) (local.get $filterStep)))
        (local.set $dst (i32.add (local.get $dst) (local.get $planeBytes)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $filters))))

  ;; The filter gradient by F(2x2, 3x3). The forward's tile is Y = Aᵀ [Σ_c U_c ⊙ V_c] A with U = G g Gᵀ, so
  ;; <dY, Y> = Σ_c <(A dY Aᵀ) ⊙ V_c, G g_c Gᵀ> and dL/dg_kc = Gᵀ [Σ_tiles (A dY_k Aᵀ) ⊙ (Bᵀ d_c B)] G: per element ξ of the
  ;; 4x4 tile a sum over tiles, M_ξ[k, c] = Σ_t E_ξ[k, t] V_ξ[c, t] with E = A dY Aᵀ, 16 multiplications per tile and
  ;; filter-channel pair where the GEMM over im2col takes 36. The tiles partition the output, and those past its edge
  ;; see dy = 0 (the padded dy), so the sum is exactly dW's. E is stored with A's last row negated (A' = [1 0; 1 1;
  ;; 1 -1; 0 1], no negations in the transform); the caller's Gᵀ M G takes that sign back (winograd.ts).

  ;; E = A' dY A'ᵀ of four horizontally adjacent tiles (one a lane) of each of $K filters: the 2x2 blocks of dy start at
  ;; $q (rows $rowBytes apart, filters $planeBytes apart); filter k's 16 results go to $e + k $eStep + ξ $eStride.
  (func $winogradDyTiles
    (param $q i32) (param $e i32) (param $K i32) (param $planeBytes i32) (param $rowBytes i32) (param $eStride i32) (param $eStep i32)
    (local $k i32) (local $a0 v128) (local $a1 v128) (local $y00 v128) (local $y01 v128) (local $y10 v128) (local $y11 v128)
    (local $z01 v128) (local $z02 v128) (local $z11 v128) (local $z12 v128)
    (block $done
      (loop $filters
        (br_if $done (i32.ge_u (local.get $k) (local.get $K)))
        ;; dy's rows 0 and 1 under the tiles: lane j holds tile j's column 0 (even floats) or 1 (odd floats)
        (local.set $a0 (v128.load (local.get $q))) (local.set $a1 (v128.load offset=16 (local.get $q)))
        (local.set $y00 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a0) (local.get $a1)))
        (local.set $y01 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a0) (local.get $a1)))
        (local.set $a0 (v128.load (i32.add (local.get $q) (local.get $rowBytes)))) (local.set $a1 (v128.load offset=16 (i32.add (local.get $q) (local.get $rowBytes))))
        (local.set $y10 (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a0) (local.get $a1)))
        (local.set $y11 (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a0) (local.get $a1)))
        ;; dY A'ᵀ: each row (y0, y1) -> (y0, y0 + y1, y0 - y1, y1)
        (local.set $z01 (f32x4.add (local.get $y00) (local.get $y01))) (local.set $z02 (f32x4.sub (local.get $y00) (local.get $y01)))
        (local.set $z11 (f32x4.add (local.get $y10) (local.get $y11))) (local.set $z12 (f32x4.sub (local.get $y10) (local.get $y11)))
        ;; A' (dY A'ᵀ): the same over the rows, each of the 16 results stored to its matrix ξ = 4i + j
        (v128.store (local.get $e) (local.get $y00))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 1))) (local.get $z01))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 2))) (local.get $z02))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 3))) (local.get $y01))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 4))) (f32x4.add (local.get $y00) (local.get $y10)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 5))) (f32x4.add (local.get $z01) (local.get $z11)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 6))) (f32x4.add (local.get $z02) (local.get $z12)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 7))) (f32x4.add (local.get $y01) (local.get $y11)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 8))) (f32x4.sub (local.get $y00) (local.get $y10)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 9))) (f32x4.sub (local.get $z01) (local.get $z11)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 10))) (f32x4.sub (local.get $z02) (local.get $z12)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 11))) (f32x4.sub (local.get $y01) (local.get $y11)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 12))) (local.get $y10))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 13))) (local.get $z11))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 14))) (local.get $z12))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 15))) (local.get $y11))
        (local.set $q (i32.add (local.get $q) (local.get $planeBytes)))
        (local.set $e (i32.add (local.get $e) (local.get $eStep)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $filters))))

  ;; acc[k, c] += Σ_t E[k, t] V[c, t] lane-wise (lane l sums the tiles t ≡ l mod 4), for the $tiles tiles (a multiple of 4)
  ;; of one block and one ξ, the sums from +0 where $fresh is 1 (a share's first block; acc is not read), else from acc: E [Kp, tiles] and V [Cp, tiles] with rows 256 bytes apart (winogradDwTiles' blocks of 16
  ;; groups), acc [Kp, Cp] of vectors. Kp is a multiple of 4 and Cp of 2: each pass keeps 4 filters x 2 channels of sums
  ;; in registers over the block's tiles (8 sums, 2 x, 4 E and a product: the 15 vector registers V8 gives wasm on x64).
  ;; The row stride is a constant so that the rows after the first of V and of E are read at constant offsets from one
  ;; pointer each: a step of 4 tiles is 6 loads, 16 arithmetic operations and 2 pointer steps, where an index added to
  ;; each row's start cost an address add per load and V8 spilled and reloaded 3 registers a step (1.15x slower per layer;
  ;; blocks of 8, 12, 32 or 64 groups, rows 128 to 1024 bytes apart, were 1.03x to 1.08x slower than 16). Unrolled over 4
  ;; steps, TurboFan hoisted the 24 loads ahead of the arithmetic and spilled (1.15x slower than before).
  (func $winogradDwDot
    (param $acc i32) (param $e i32) (param $v i32) (param $Kp i32) (param $Cp i32) (param $tiles i32) (param $fresh i32)
    (local $k i32) (local $c i32) (local $a i32) (local $accRow i32) (local $e0 i32) (local $v0 i32) (local $end i32)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128) (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local $x0 v128) (local $x1 v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local.set $accRow (i32.shl (local.get $Cp) (i32.const 4)))
    (block $kDone
      (loop $filters
        (br_if $kDone (i32.ge_u (local.get $k) (local.get $Kp)))
        (local.set $c (i32.const 0))
        (block $cDone
          (loop $channels
            (br_if $cDone (i32.ge_u (local.get $c) (local.get $Cp)))
            (local.set $a (i32.add (local.get $acc) (i32.add (i32.mul (local.get $k) (local.get $accRow)) (i32.shl (local.get $c) (i32.const 4)))))
            (if (local.get $fresh)
              (then
                (local.set $s00 (v128.const i32x4 0 0 0 0)) (local.set $s01 (v128.const i32x4 0 0 0 0))
                (local.set $s10 (v128.const i32x4 0 0 0 0)) (local.set $s11 (v128.const i32x4 0 0 0 0))
                (local.set $s20 (v128.const i32x4 0 0 0 0)) (local.set $s21 (v128.const i32x4 0 0 0 0))
                (local.set $s30 (v128.const i32x4 0 0 0 0)) (local.set $s31 (v128.const i32x4 0 0 0 0)))
              (else
                (local.set $s00 (v128.load (local.get $a))) (local.set $s01 (v128.load offset=16 (local.get $a)))
                (local.set $s10 (v128.load (i32.add (local.get $a) (local.get $accRow)))) (local.set $s11 (v128.load offset=16 (i32.add (local.get $a) (local.get $accRow))))
                (local.set $s20 (v128.load (i32.add (local.get $a) (i32.shl (local.get $accRow) (i32.const 1)))))
                (local.set $s21 (v128.load offset=16 (i32.add (local.get $a) (i32.shl (local.get $accRow) (i32.const 1)))))
                (local.set $s30 (v128.load (i32.add (local.get $a) (i32.mul (local.get $accRow) (i32.const 3)))))
                (local.set $s31 (v128.load offset=16 (i32.add (local.get $a) (i32.mul (local.get $accRow) (i32.const 3)))))))
            ;; row c of V and row k of E at the block's first tile; rows c + 1 and k + 1 .. k + 3 at +256, +512, +768
            (local.set $v0 (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 8))))
            (local.set $e0 (i32.add (local.get $e) (i32.shl (local.get $k) (i32.const 8))))
            (local.set $end (i32.add (local.get $v0) (i32.shl (local.get $tiles) (i32.const 2))))
            (block $tDone
              (loop $tiles
                (br_if $tDone (i32.ge_u (local.get $v0) (local.get $end)))
                (local.set $x0 (v128.load (local.get $v0)))
                (local.set $x1 (v128.load offset=256 (local.get $v0)))
                (local.set $w0 (v128.load (local.get $e0)))
                (local.set $w1 (v128.load offset=256 (local.get $e0)))
                (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $w0) (local.get $x0))))
                (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $w0) (local.get $x1))))
                (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $w1) (local.get $x0))))
                (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $w1) (local.get $x1))))
                (local.set $w2 (v128.load offset=512 (local.get $e0)))
                (local.set $w3 (v128.load offset=768 (local.get $e0)))
                (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $w2) (local.get $x0))))
                (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $w2) (local.get $x1))))
                (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $w3) (local.get $x0))))
                (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $w3) (local.get $x1))))
                (local.set $v0 (i32.add (local.get $v0) (i32.const 16)))
                (local.set $e0 (i32.add (local.get $e0) (i32.const 16)))
                (br $tiles)))
            (v128.store (local.get $a) (local.get $s00)) (v128.store offset=16 (local.get $a) (local.get $s01))
            (v128.store (i32.add (local.get $a) (local.get $accRow)) (local.get $s10)) (v128.store offset=16 (i32.add (local.get $a) (local.get $accRow)) (local.get $s11))
            (v128.store (i32.add (local.get $a) (i32.shl (local.get $accRow) (i32.const 1))) (local.get $s20))
            (v128.store offset=16 (i32.add (local.get $a) (i32.shl (local.get $accRow) (i32.const 1))) (local.get $s21))
            (v128.store (i32.add (local.get $a) (i32.mul (local.get $accRow) (i32.const 3))) (local.get $s30))
            (v128.store offset=16 (i32.add (local.get $a) (i32.mul (local.get $accRow) (i32.const 3))) (local.get $s31))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $channels)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $filters))))

  ;; V = Bᵀ d B of F(4x4, 3x3) for four tiles (one a lane) in each of $C channels: two pairs of tiles 4 columns apart, the
  ;; 6x6 patches of lanes 0 and 1 at $pa and $pa + 16 bytes, those of lanes 2 and 3 at $pb and $pb + 16 (four tiles side
  ;; by side: $pb = $pa + 32; 2x2 tiles: $pb 4 rows below $pa), rows $rowBytes apart, channels $planeBytes apart, 12
  ;; floats a row read at each; channel c's 36 results go to $v + c $vStep + ξ $vStride (ξ = 6i + j). Rows first, through
  ;; 36 vectors at $tmp, then columns:
  ;;   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
  (func $winogradInputTiles6
    (param $pa i32) (param $pb i32) (param $v i32) (param $C i32) (param $planeBytes i32) (param $rowBytes i32) (param $vStride i32) (param $vStep i32) (param $tmp i32)
    (local $ch i32) (local $row i32) (local $ra i32) (local $rb i32) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128)
    (block $done
      (loop $channels
        (br_if $done (i32.ge_u (local.get $ch) (local.get $C)))
        ;; each row r: tile lanes 0, 1 start at $pa and 4 columns on, lanes 2, 3 at $pb and 4 columns on; 12 floats read
        ;; at each, pairs of their 4-float vectors turned so that c_j holds column j of the four tiles (a = $pa's floats,
        ;; b = $pb's: c_j = (a_j, a_4+j, b_j, b_4+j)); Bᵀ applied to the row's six columns, into $tmp + 96 r
        (local.set $row (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $row) (i32.const 6)))
            (local.set $ra (i32.add (local.get $pa) (i32.mul (local.get $row) (local.get $rowBytes))))
            (local.set $rb (i32.add (local.get $pb) (i32.mul (local.get $row) (local.get $rowBytes))))
            (local.set $q0 (v128.load (local.get $ra)))
            (local.set $q1 (v128.load offset=16 (local.get $ra)))
            (local.set $q2 (v128.load offset=32 (local.get $ra)))
            ;; (a0 a4 a1 a5), (a2 a6 a3 a7), (a4 a8 a5 a9), then the same of b
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q1) (local.get $q2)))
            (local.set $q0 (v128.load (local.get $rb)))
            (local.set $q1 (v128.load offset=16 (local.get $rb)))
            (local.set $q2 (v128.load offset=32 (local.get $rb)))
            (local.set $q3 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
            (local.set $q4 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
            (local.set $t3 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q1) (local.get $q2)))
            (local.set $c0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $q3)))
            (local.set $c1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $q3)))
            (local.set $c2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $q4)))
            (local.set $c3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $q4)))
            (local.set $c4 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
            (local.set $c5 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3)))
            (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
            (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
            (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
            (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
            (local.set $ra (i32.add (local.get $tmp) (i32.mul (local.get $row) (i32.const 96))))
            (v128.store (local.get $ra) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
            (v128.store offset=16 (local.get $ra) (f32x4.add (local.get $s1) (local.get $s2)))
            (v128.store offset=32 (local.get $ra) (f32x4.sub (local.get $s1) (local.get $s2)))
            (v128.store offset=48 (local.get $ra) (f32x4.add (local.get $s3) (local.get $s4)))
            (v128.store offset=64 (local.get $ra) (f32x4.sub (local.get $s3) (local.get $s4)))
            (v128.store offset=80 (local.get $ra) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
            (local.set $row (i32.add (local.get $row) (i32.const 1)))
            (br $rows)))
        ;; Bᵀ over the rows of each column, into V
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 0))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 96))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 192))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 288))))
        (local.set $c4 (v128.load (i32.add (local.get $tmp) (i32.const 384))))
        (local.set $c5 (v128.load (i32.add (local.get $tmp) (i32.const 480))))
        (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
        (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
        (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
        (v128.store (local.get $v) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 6))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 12))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 18))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 24))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 30))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 16))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 112))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 208))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 304))))
        (local.set $c4 (v128.load (i32.add (local.get $tmp) (i32.const 400))))
        (local.set $c5 (v128.load (i32.add (local.get $tmp) (i32.const 496))))
        (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
        (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
        (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 1))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 7))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 13))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 19))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 25))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 31))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 32))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 128))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 224))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 320))))
        (local.set $c4 (v128.load (i32.add (local.get $tmp) (i32.const 416))))
        (local.set $c5 (v128.load (i32.add (local.get $tmp) (i32.const 512))))
        (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
        (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
        (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 2))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 8))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 14))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 20))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 26))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 32))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 48))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 144))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 240))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 336))))
        (local.set $c4 (v128.load (i32.add (local.get $tmp) (i32.const 432))))
        (local.set $c5 (v128.load (i32.add (local.get $tmp) (i32.const 528))))
        (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
        (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
        (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 3))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 9))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 15))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 21))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 27))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 33))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 64))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 160))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 256))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 352))))
        (local.set $c4 (v128.load (i32.add (local.get $tmp) (i32.const 448))))
        (local.set $c5 (v128.load (i32.add (local.get $tmp) (i32.const 544))))
        (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
        (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
        (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 4))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 10))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 16))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 22))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 28))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 34))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 80))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 176))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 272))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 368))))
        (local.set $c4 (v128.load (i32.add (local.get $tmp) (i32.const 464))))
        (local.set $c5 (v128.load (i32.add (local.get $tmp) (i32.const 560))))
        (local.set $s1 (f32x4.sub (local.get $c4) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s2 (f32x4.sub (local.get $c3) (f32x4.mul (local.get $c1) (v128.const f32x4 4 4 4 4))))
        (local.set $s3 (f32x4.sub (local.get $c4) (local.get $c2)))
        (local.set $s4 (f32x4.mul (f32x4.sub (local.get $c3) (local.get $c1)) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 5))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c0) (local.get $c2)) (v128.const f32x4 4 4 4 4)) (local.get $s3)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 11))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 17))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 23))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 29))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $v) (i32.mul (local.get $vStride) (i32.const 35))) (f32x4.add (f32x4.mul (f32x4.sub (local.get $c1) (local.get $c3)) (v128.const f32x4 4 4 4 4)) (f32x4.sub (local.get $c5) (local.get $c3))))
        (local.set $pa (i32.add (local.get $pa) (local.get $planeBytes)))
        (local.set $pb (i32.add (local.get $pb) (local.get $planeBytes)))
        (local.set $v (i32.add (local.get $v) (local.get $vStep)))
        (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
        (br $channels))))

  ;; E = A dY Aᵀ of F(4x4, 3x3) for four tiles (one a lane) of each of $K filters: the 4x4 blocks of dy of lanes 0 and 1 at
  ;; $qa and $qa + 16 bytes, those of lanes 2 and 3 at $qb and $qb + 16 (four tiles side by side: $qb = $qa + 32; 2x2 tiles:
  ;; $qb 4 rows below $qa), rows $rowBytes apart, filters $planeBytes apart; filter k's 36 results go to $e + k $eStep +
  ;; ξ $eStride. Rows first, through 24 vectors at $tmp, then columns:  A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]
  (func $winogradDyTiles6
    (param $qa i32) (param $qb i32) (param $e i32) (param $K i32) (param $planeBytes i32) (param $rowBytes i32) (param $eStride i32) (param $eStep i32) (param $tmp i32)
    (local $k i32) (local $row i32) (local $rowb i32) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128)
    (block $done
      (loop $filters
        (br_if $done (i32.ge_u (local.get $k) (local.get $K)))
        ;; each row: its 4 tiles' columns are the 4x4 transpose of its 4 tiles' 4 floats; A applied to the row into $tmp
        (local.set $row (local.get $qa))
        (local.set $rowb (local.get $qb))
        (local.set $q0 (v128.load (local.get $row)))
        (local.set $q1 (v128.load offset=16 (local.get $row)))
        (local.set $q2 (v128.load (local.get $rowb)))
        (local.set $q3 (v128.load offset=16 (local.get $rowb)))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q2) (local.get $q3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q2) (local.get $q3)))
        (local.set $c0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (local.set $c1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (local.set $c2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (local.set $c3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 0)) (local.get $c0))
        (v128.store (i32.add (local.get $tmp) (i32.const 16)) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 32)) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 48)) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 64)) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 80)) (local.get $c3))
        (local.set $row (i32.add (local.get $qa) (i32.mul (local.get $rowBytes) (i32.const 1))))
        (local.set $rowb (i32.add (local.get $qb) (i32.mul (local.get $rowBytes) (i32.const 1))))
        (local.set $q0 (v128.load (local.get $row)))
        (local.set $q1 (v128.load offset=16 (local.get $row)))
        (local.set $q2 (v128.load (local.get $rowb)))
        (local.set $q3 (v128.load offset=16 (local.get $rowb)))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q2) (local.get $q3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q2) (local.get $q3)))
        (local.set $c0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (local.set $c1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (local.set $c2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (local.set $c3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 96)) (local.get $c0))
        (v128.store (i32.add (local.get $tmp) (i32.const 112)) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 128)) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 144)) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 160)) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 176)) (local.get $c3))
        (local.set $row (i32.add (local.get $qa) (i32.mul (local.get $rowBytes) (i32.const 2))))
        (local.set $rowb (i32.add (local.get $qb) (i32.mul (local.get $rowBytes) (i32.const 2))))
        (local.set $q0 (v128.load (local.get $row)))
        (local.set $q1 (v128.load offset=16 (local.get $row)))
        (local.set $q2 (v128.load (local.get $rowb)))
        (local.set $q3 (v128.load offset=16 (local.get $rowb)))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q2) (local.get $q3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q2) (local.get $q3)))
        (local.set $c0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (local.set $c1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (local.set $c2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (local.set $c3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 192)) (local.get $c0))
        (v128.store (i32.add (local.get $tmp) (i32.const 208)) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 224)) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 240)) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 256)) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 272)) (local.get $c3))
        (local.set $row (i32.add (local.get $qa) (i32.mul (local.get $rowBytes) (i32.const 3))))
        (local.set $rowb (i32.add (local.get $qb) (i32.mul (local.get $rowBytes) (i32.const 3))))
        (local.set $q0 (v128.load (local.get $row)))
        (local.set $q1 (v128.load offset=16 (local.get $row)))
        (local.set $q2 (v128.load (local.get $rowb)))
        (local.set $q3 (v128.load offset=16 (local.get $rowb)))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q2) (local.get $q3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q2) (local.get $q3)))
        (local.set $c0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (local.set $c1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (local.set $c2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (local.set $c3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 288)) (local.get $c0))
        (v128.store (i32.add (local.get $tmp) (i32.const 304)) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 320)) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $tmp) (i32.const 336)) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 352)) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $tmp) (i32.const 368)) (local.get $c3))
        ;; A over the rows of each column, into E
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 0))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 96))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 192))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 288))))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (local.get $e) (local.get $c0))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 6))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 12))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 18))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 24))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 30))) (local.get $c3))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 16))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 112))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 208))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 304))))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 1))) (local.get $c0))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 7))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 13))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 19))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 25))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 31))) (local.get $c3))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 32))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 128))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 224))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 320))))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 2))) (local.get $c0))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 8))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 14))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 20))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 26))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 32))) (local.get $c3))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 48))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 144))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 240))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 336))))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 3))) (local.get $c0))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 9))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 15))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 21))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 27))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 33))) (local.get $c3))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 64))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 160))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 256))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 352))))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 4))) (local.get $c0))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 10))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 16))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 22))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 28))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 34))) (local.get $c3))
        (local.set $c0 (v128.load (i32.add (local.get $tmp) (i32.const 80))))
        (local.set $c1 (v128.load (i32.add (local.get $tmp) (i32.const 176))))
        (local.set $c2 (v128.load (i32.add (local.get $tmp) (i32.const 272))))
        (local.set $c3 (v128.load (i32.add (local.get $tmp) (i32.const 368))))
        (local.set $s1 (f32x4.add (local.get $c0) (local.get $c2)))
        (local.set $s2 (f32x4.add (local.get $c1) (local.get $c3)))
        (local.set $s3 (f32x4.add (local.get $c0) (f32x4.mul (local.get $c2) (v128.const f32x4 4 4 4 4))))
        (local.set $s4 (f32x4.mul (f32x4.add (local.get $c1) (f32x4.mul (local.get $c3) (v128.const f32x4 4 4 4 4))) (v128.const f32x4 2 2 2 2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 5))) (local.get $c0))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 11))) (f32x4.add (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 17))) (f32x4.sub (local.get $s1) (local.get $s2)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 23))) (f32x4.add (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 29))) (f32x4.sub (local.get $s3) (local.get $s4)))
        (v128.store (i32.add (local.get $e) (i32.mul (local.get $eStride) (i32.const 35))) (local.get $c3))
        (local.set $qa (i32.add (local.get $qa) (local.get $planeBytes)))
        (local.set $qb (i32.add (local.get $qb) (local.get $planeBytes)))
        (local.set $e (i32.add (local.get $e) (local.get $eStep)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $filters))))

  ;; Items [i0, i1) of the filter gradient of a 3x3 stride-1 convolution by F(m x m, 3x3), m = $m (2 or 4; X = (m + 2)²
  ;; elements ξ per tile): the input $x [N, C, H, W] padded by $pad, and $dy [N, K, OH, OW]. A group is four tiles, side
  ;; by side ($groupRows 1) or 2x2 ($groupRows 2, m = 4 only: on 7x7 and 8x8 outputs side by side would leave half of
  ;; each group past the edge), as winogradTiles reads them: group g is image g / (tH gW), group row ty = (g mod tH gW) /
  ;; gW, gx = g mod gW, its tiles from row $groupRows m ty, column (4 / $groupRows) m gx; the tiles' (m + 2)-square
  ;; patches lie in the padded planes of $Wq floats a row (winogradPlan's), their m x m blocks of dy in planes of Wd = m
  ;; (4 / $groupRows) gW floats a row, zeros past the output's edge (so those tiles add 0 to every sum).
  ;; The $groups groups are cut into shares of $shareGroups, a cut that depends on the shape alone; share s writes its
  ;; M_ξ[k, c] (X x [K, C] floats) to $partials + 4 X s K C, and the caller adds the shares in their order: so the
  ;; result has the same bits whichever thread ran which share. A share runs in blocks of $blockGroups groups (16: rows of
  ;; 256 bytes, which winogradDwDot reads at constant offsets; any other count traps), whose
  ;; V [X, Cp, tiles] and E [X, Kp, tiles] stay in the cache for the X products, in a slot of $scratch it claims (as
  ;; winogradTiles does) of $slotBytes: V, E, the lane-wise sums [X, Kp, Cp] of vectors (Kp = K rounded up to 4, Cp =
  ;; C rounded up to 2), 576 bytes for the F(4x4, 3x3) transforms, 16 a group of a block for where its patch and its
  ;; block of dy start in the strips, 32 a part (below), then the strips of one channel of x and of one filter of dy.
  ;; A block's groups fall in parts, one an image, each a run of group rows: channel by channel, the rows of each part's
  ;; padded plane under its group rows (and the 2 below them) are padded into the x strip (pad.wat's $stripRows: the
  ;; zeros with the first channel, after it the image rows alone), then the block's groups transform their patches from
  ;; there; filter by filter, likewise dy's. The strips stay in the
  ;; cache, where a padded copy of all of x and dy made first was a pass over memory the transforms read back (3-7% of
  ;; resnet's training step); each strip holds at most $blockGroups (m $groupRows + 2) rows.
  ;; Item i is share i / $kParts and range i mod $kParts of output channels: ranges of kStep = Kp / $kParts rounded up to
  ;; 4 filters (winogradDwDot takes 4 rows of E at a time), the last up to Kp. An item transforms its share's x patches
  ;; (V, all C channels) but dy (E), the sums and their lane sums only for its own filters, so that a share too small to
  ;; cut finer still splits across the threads ($kParts 1: one item a share). Every sum over (ξ, k, c) runs over the same
  ;; tiles in the same order whatever the k-ranges: the same bits at any $kParts.
  (func $winogradDwTiles (export "winogradDwTiles")
    (param $i0 i32) (param $i1 i32) (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $pad i32) (param $Wq i32) (param $tH i32) (param $gW i32)
    (param $dy i32) (param $K i32) (param $OH i32) (param $OW i32) (param $groups i32) (param $shareGroups i32) (param $partials i32)
    (param $scratch i32) (param $slotBytes i32) (param $blockGroups i32) (param $m i32) (param $groupRows i32) (param $kParts i32)
    (local $item i32) (local $kStep i32) (local $k0 i32) (local $k1 i32) (local $kEnd i32) (local $ek0 i32) (local $accRow i32) (local $across i32) (local $oy i32) (local $ox i32) (local $xis i32) (local $tmp i32) (local $Wd i32) (local $slot i32) (local $Kp i32) (local $Cp i32) (local $rowBytes i32) (local $vStride i32) (local $eStride i32) (local $accBytes i32)
    (local $vbase i32) (local $ebase i32) (local $abase i32) (local $imgGroups i32) (local $planeBytes i32) (local $dPlaneBytes i32)
    (local $s i32) (local $g i32) (local $gEnd i32) (local $gb i32) (local $i i32) (local $gi i32) (local $n i32) (local $rem i32)
    (local $ty i32) (local $gx i32) (local $xi i32) (local $k i32) (local $c i32) (local $src i32) (local $dst i32) (local $sum v128) (local $at i32)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $mg i32) (local $groupsAt i32) (local $partsAt i32) (local $xStrip i32) (local $dyStrip i32) (local $parts i32) (local $part i32)
    (local $xOff i32) (local $dyOff i32) (local $q0 i32) (local $lastN i32) (local $lastTy i32) (local $xRowBytes i32) (local $dRowBytes i32)
    (if (i32.ne (local.get $blockGroups) (i32.const 16)) (then (unreachable)))
    (local.set $slot (call $winogradClaimSlot (local.get $scratch)))
    (local.set $Kp (i32.and (i32.add (local.get $K) (i32.const 3)) (i32.const -4)))
    (local.set $Cp (i32.and (i32.add (local.get $C) (i32.const 1)) (i32.const -2)))
    ;; a row of V or E: the tiles of one block (4 a group); matrices 64 bytes further apart than their sizes (see winogradTiles)
    (local.set $rowBytes (i32.shl (local.get $blockGroups) (i32.const 4)))
    (local.set $vStride (i32.add (i32.mul (local.get $Cp) (local.get $rowBytes)) (i32.const 64)))
    (local.set $eStride (i32.add (i32.mul (local.get $Kp) (local.get $rowBytes)) (i32.const 64)))
    (local.set $accRow (i32.shl (local.get $Cp) (i32.const 4)))
    (local.set $accBytes (i32.mul (local.get $Kp) (local.get $accRow)))
    (local.set $kStep (i32.and (i32.add (i32.div_u (i32.add (local.get $Kp) (i32.sub (local.get $kParts) (i32.const 1))) (local.get $kParts)) (i32.const 3)) (i32.const -4)))
    (local.set $vbase (i32.add (i32.add (local.get $scratch) (i32.const 1024)) (i32.mul (local.get $slot) (local.get $slotBytes))))
    (local.set $xis (i32.mul (i32.add (local.get $m) (i32.const 2)) (i32.add (local.get $m) (i32.const 2))))
    (local.set $ebase (i32.add (local.get $vbase) (i32.mul (local.get $vStride) (local.get $xis))))
    (local.set $abase (i32.add (local.get $ebase) (i32.mul (local.get $eStride) (local.get $xis))))
    (local.set $tmp (i32.add (local.get $abase) (i32.mul (local.get $accBytes) (local.get $xis))))
    ;; groups of 4 tiles: 4 or 2 tiles across, m groupRows rows of outputs; dy's padded rows Wd = m across gW floats
    (local.set $across (i32.shr_u (i32.const 4) (i32.sub (local.get $groupRows) (i32.const 1))))
    (local.set $mg (i32.mul (local.get $m) (local.get $groupRows)))
    (local.set $Wd (i32.mul (i32.mul (local.get $m) (local.get $across)) (local.get $gW)))
    (local.set $xRowBytes (i32.shl (local.get $Wq) (i32.const 2)))
    (local.set $dRowBytes (i32.shl (local.get $Wd) (i32.const 2)))
    (local.set $imgGroups (i32.mul (local.get $tH) (local.get $gW)))
    (local.set $planeBytes (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $dPlaneBytes (i32.shl (i32.mul (local.get $OH) (local.get $OW)) (i32.const 2)))
    ;; after the transforms' 576 bytes: the block's groups, its parts, the x strip (at most $blockGroups (mg + 2) rows),
    ;; the dy strip
    (local.set $groupsAt (i32.add (local.get $tmp) (i32.const 576)))
    (local.set $partsAt (i32.add (local.get $groupsAt) (i32.shl (local.get $blockGroups) (i32.const 4))))
    (local.set $xStrip (i32.add (local.get $partsAt) (i32.shl (local.get $blockGroups) (i32.const 5))))
    (local.set $dyStrip (i32.add (local.get $xStrip)
      (i32.mul (i32.mul (local.get $blockGroups) (i32.add (local.get $mg) (i32.const 2))) (local.get $xRowBytes))))
    ;; the rows past C in V and past K in E are never written by the transforms: zeros, so their sums (unused) stay finite and fast
    (local.set $xi (i32.const 0))
    (block $padDone
      (loop $pads
        (br_if $padDone (i32.ge_u (local.get $xi) (local.get $xis)))
        (call $zeroF32 (i32.add (i32.add (local.get $vbase) (i32.mul (local.get $xi) (local.get $vStride))) (i32.mul (local.get $C) (local.get $rowBytes)))
          (i32.shl (i32.mul (i32.sub (local.get $Cp) (local.get $C)) (local.get $blockGroups)) (i32.const 2)))
        (call $zeroF32 (i32.add (i32.add (local.get $ebase) (i32.mul (local.get $xi) (local.get $eStride))) (i32.mul (local.get $K) (local.get $rowBytes)))
          (i32.shl (i32.mul (i32.sub (local.get $Kp) (local.get $K)) (local.get $blockGroups)) (i32.const 2)))
        (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
        (br $pads)))
    (local.set $item (local.get $i0))
    (block $itemsDone
      (loop $items
        (br_if $itemsDone (i32.ge_u (local.get $item) (local.get $i1)))
        (local.set $s (i32.div_u (local.get $item) (local.get $kParts)))
        ;; the item's filters: [k0, k1) of the sums' Kp rows, [k0, kEnd) of dy's K planes
        (local.set $k0 (i32.mul (i32.sub (local.get $item) (i32.mul (local.get $s) (local.get $kParts))) (local.get $kStep)))
        ;; a range past Kp (Kp / $kParts rounded up to 4 leaves the last ranges empty) has nothing to do
        (block $itemDone
          (br_if $itemDone (i32.ge_u (local.get $k0) (local.get $Kp)))
          (local.set $k1 (i32.add (local.get $k0) (local.get $kStep)))
          (if (i32.gt_u (local.get $k1) (local.get $Kp)) (then (local.set $k1 (local.get $Kp))))
          (local.set $kEnd (local.get $k1))
          (if (i32.gt_u (local.get $kEnd) (local.get $K)) (then (local.set $kEnd (local.get $K))))
          (local.set $ek0 (i32.add (local.get $ebase) (i32.mul (local.get $k0) (local.get $rowBytes))))
          (local.set $g (i32.mul (local.get $s) (local.get $shareGroups)))
          (local.set $gEnd (i32.add (local.get $g) (local.get $shareGroups)))
          (if (i32.gt_u (local.get $gEnd) (local.get $groups)) (then (local.set $gEnd (local.get $groups))))
          (block $blocksDone
            (loop $blocks
              (br_if $blocksDone (i32.ge_u (local.get $g) (local.get $gEnd)))
              (local.set $gb (i32.sub (local.get $gEnd) (local.get $g)))
              (if (i32.gt_u (local.get $gb) (local.get $blockGroups)) (then (local.set $gb (local.get $blockGroups))))
;; the block's parts (one an image) and where each group's patch of x and block of dy start in the strips: its
              ;; tiles 0 and 1 at the first two of its 16 bytes, tiles 2 and 3 at the last two (two tiles on, side by side,
              ;; or one tile row down, 2x2); a part's 32 bytes: its image's x (channel 0) and dy (filter k0), its first
              ;; padded row q0 (its first group row's), its strip rows (its group rows' and the 2 below them), where its
              ;; rows start in the x strip and in the dy strip
              (local.set $parts (i32.const 0))
              (local.set $xOff (i32.const 0))
              (local.set $dyOff (i32.const 0))
              (local.set $i (i32.const 0))
              (block $inDone
                (loop $inGroups
                  (br_if $inDone (i32.ge_u (local.get $i) (local.get $gb)))
                  (local.set $gi (i32.add (local.get $g) (local.get $i)))
                  (local.set $n (i32.div_u (local.get $gi) (local.get $imgGroups)))
                  (local.set $rem (i32.sub (local.get $gi) (i32.mul (local.get $n) (local.get $imgGroups))))
                  (local.set $ty (i32.div_u (local.get $rem) (local.get $gW)))
                  (local.set $gx (i32.sub (local.get $rem) (i32.mul (local.get $ty) (local.get $gW))))
                  (local.set $oy (i32.mul (local.get $ty) (local.get $mg)))
                  (local.set $ox (i32.mul (i32.mul (local.get $gx) (local.get $m)) (local.get $across)))
                  (if (i32.or (i32.eqz (local.get $i)) (i32.ne (local.get $n) (local.get $lastN)))
                    (then
                      ;; a new part: the previous one's rows end where this one's start
                      (if (local.get $parts)
                        (then
                          (local.set $at (i32.add (local.get $partsAt) (i32.shl (i32.sub (local.get $parts) (i32.const 1)) (i32.const 5))))
                          (local.set $xOff (i32.add (local.get $xOff) (i32.mul (i32.load offset=12 (local.get $at)) (local.get $xRowBytes))))
                          (local.set $dyOff (i32.add (local.get $dyOff)
                            (i32.mul (i32.sub (i32.load offset=12 (local.get $at)) (i32.const 2)) (local.get $dRowBytes))))))
                      (local.set $at (i32.add (local.get $partsAt) (i32.shl (local.get $parts) (i32.const 5))))
                      (i32.store (local.get $at) (i32.add (local.get $x) (i32.mul (i32.mul (local.get $n) (local.get $C)) (local.get $planeBytes))))
                      (i32.store offset=4 (local.get $at)
                        (i32.add (local.get $dy) (i32.mul (i32.add (i32.mul (local.get $n) (local.get $K)) (local.get $k0)) (local.get $dPlaneBytes))))
                      (i32.store offset=8 (local.get $at) (local.get $oy))
                      (i32.store offset=12 (local.get $at) (i32.add (local.get $mg) (i32.const 2)))
                      (i32.store offset=16 (local.get $at) (local.get $xOff))
                      (i32.store offset=20 (local.get $at) (local.get $dyOff))
                      (local.set $q0 (local.get $oy))
                      (local.set $lastN (local.get $n))
                      (local.set $lastTy (local.get $ty))
                      (local.set $parts (i32.add (local.get $parts) (i32.const 1))))
                    (else
                      ;; the part's next group row (its groups come in order)
                      (if (i32.ne (local.get $ty) (local.get $lastTy))
                        (then
                          (i32.store offset=12 (local.get $at) (i32.add (i32.load offset=12 (local.get $at)) (local.get $mg)))
                          (local.set $lastTy (local.get $ty))))))
                  (local.set $src (i32.add (local.get $xOff) (i32.shl (i32.add (i32.mul (i32.sub (local.get $oy) (local.get $q0)) (local.get $Wq)) (local.get $ox)) (i32.const 2))))
                  (local.set $dst (i32.add (local.get $dyOff) (i32.shl (i32.add (i32.mul (i32.sub (local.get $oy) (local.get $q0)) (local.get $Wd)) (local.get $ox)) (i32.const 2))))
                  (local.set $at (i32.add (local.get $groupsAt) (i32.shl (local.get $i) (i32.const 4))))
                  (i32.store (local.get $at) (i32.add (local.get $xStrip) (local.get $src)))
                  (i32.store offset=4 (local.get $at) (i32.add (local.get $xStrip)
                    (select (i32.add (local.get $src) (i32.const 32)) (i32.add (local.get $src) (i32.shl (local.get $xRowBytes) (i32.const 2))) (i32.eq (local.get $groupRows) (i32.const 1)))))
                  (i32.store offset=8 (local.get $at) (i32.add (local.get $dyStrip) (local.get $dst)))
                  (i32.store offset=12 (local.get $at) (i32.add (local.get $dyStrip)
                    (select (i32.add (local.get $dst) (i32.const 32)) (i32.add (local.get $dst) (i32.shl (local.get $dRowBytes) (i32.const 2))) (i32.eq (local.get $groupRows) (i32.const 1)))))
                  ;; $at back at the current part
                  (local.set $at (i32.add (local.get $partsAt) (i32.shl (i32.sub (local.get $parts) (i32.const 1)) (i32.const 5))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $inGroups)))
              ;; V a channel at a time over the block's groups, then E a filter at a time: each 64-byte line of a row is
              ;; written by its 4 groups one after the other, and each strip is made and read while in the cache. Group by
              ;; group (all channels, then all filters, of one group at a time, from padded copies) the 14x14 layers' filter
              ;; gradients (32 -> 32, 16 -> 32, 32 -> 32 pad 2) were 1.07x-1.09x slower, the others the same within 2%.
              (local.set $c (i32.const 0))
              (block $vDone
                (loop $vRows
                  (br_if $vDone (i32.ge_u (local.get $c) (local.get $C)))
                  (local.set $part (i32.const 0))
                  (block $xpDone
                    (loop $xParts
                      (br_if $xpDone (i32.ge_u (local.get $part) (local.get $parts)))
                      (local.set $at (i32.add (local.get $partsAt) (i32.shl (local.get $part) (i32.const 5))))
                      (call $stripRows (i32.add (i32.load (local.get $at)) (i32.mul (local.get $c) (local.get $planeBytes))) (i32.const 1) (local.get $H) (local.get $W)
                        (local.get $pad) (i32.load offset=8 (local.get $at)) (i32.load offset=12 (local.get $at)) (local.get $Wq)
                        (i32.add (local.get $xStrip) (i32.load offset=16 (local.get $at))) (i32.eqz (local.get $c)))
                      (local.set $part (i32.add (local.get $part) (i32.const 1)))
                      (br $xParts)))
                  (local.set $i (i32.const 0))
                  (block $vgDone
                    (loop $vGroups
                      (br_if $vgDone (i32.ge_u (local.get $i) (local.get $gb)))
                      (local.set $at (i32.add (local.get $groupsAt) (i32.shl (local.get $i) (i32.const 4))))
                      (local.set $dst (i32.add (i32.add (local.get $vbase) (i32.mul (local.get $c) (local.get $rowBytes))) (i32.shl (local.get $i) (i32.const 4))))
                      (if (i32.eq (local.get $m) (i32.const 2))
                        (then
                          (call $winogradInputTiles (i32.load (local.get $at)) (local.get $dst)
                            (i32.const 1) (i32.const 0) (local.get $xRowBytes) (local.get $vStride) (local.get $rowBytes)))
                        (else
                          (call $winogradInputTiles6 (i32.load (local.get $at)) (i32.load offset=4 (local.get $at))
                            (local.get $dst) (i32.const 1) (i32.const 0) (local.get $xRowBytes) (local.get $vStride) (local.get $rowBytes) (local.get $tmp))))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $vGroups)))
                  (local.set $c (i32.add (local.get $c) (i32.const 1)))
                  (br $vRows)))
              (local.set $k (i32.const 0))
              (block $eDone
                (loop $eRows
                  (br_if $eDone (i32.ge_u (local.get $k) (i32.sub (local.get $kEnd) (local.get $k0))))
                  (local.set $part (i32.const 0))
                  (block $dpDone
                    (loop $dyParts
                      (br_if $dpDone (i32.ge_u (local.get $part) (local.get $parts)))
                      (local.set $at (i32.add (local.get $partsAt) (i32.shl (local.get $part) (i32.const 5))))
                      (call $stripRows (i32.add (i32.load offset=4 (local.get $at)) (i32.mul (local.get $k) (local.get $dPlaneBytes))) (i32.const 1) (local.get $OH) (local.get $OW)
                        (i32.const 0) (i32.load offset=8 (local.get $at)) (i32.sub (i32.load offset=12 (local.get $at)) (i32.const 2)) (local.get $Wd)
                        (i32.add (local.get $dyStrip) (i32.load offset=20 (local.get $at))) (i32.eqz (local.get $k)))
                      (local.set $part (i32.add (local.get $part) (i32.const 1)))
                      (br $dyParts)))
                  (local.set $i (i32.const 0))
                  (block $egDone
                    (loop $eGroups
                      (br_if $egDone (i32.ge_u (local.get $i) (local.get $gb)))
                      (local.set $at (i32.add (local.get $groupsAt) (i32.shl (local.get $i) (i32.const 4))))
                      (local.set $dst (i32.add (i32.add (local.get $ek0) (i32.mul (local.get $k) (local.get $rowBytes))) (i32.shl (local.get $i) (i32.const 4))))
                      (if (i32.eq (local.get $m) (i32.const 2))
                        (then
                          (call $winogradDyTiles (i32.load offset=8 (local.get $at)) (local.get $dst)
                            (i32.const 1) (i32.const 0) (local.get $dRowBytes) (local.get $eStride) (local.get $rowBytes)))
                        (else
                          (call $winogradDyTiles6 (i32.load offset=8 (local.get $at)) (i32.load offset=12 (local.get $at))
                            (local.get $dst) (i32.const 1) (i32.const 0) (local.get $dRowBytes) (local.get $eStride) (local.get $rowBytes) (local.get $tmp))))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br $eGroups)))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br $eRows)))
              ;; the X sums over the block's tiles
              (local.set $xi (i32.const 0))
              (block $dotsDone
                (loop $dots
                  (br_if $dotsDone (i32.ge_u (local.get $xi) (local.get $xis)))
                  (call $winogradDwDot (i32.add (i32.add (local.get $abase) (i32.mul (local.get $xi) (local.get $accBytes))) (i32.mul (local.get $k0) (local.get $accRow)))
                    (i32.add (local.get $ek0) (i32.mul (local.get $xi) (local.get $eStride)))
                    (i32.add (local.get $vbase) (i32.mul (local.get $xi) (local.get $vStride)))
                    (i32.sub (local.get $k1) (local.get $k0)) (local.get $Cp) (i32.shl (local.get $gb) (i32.const 2))
                    (i32.eq (local.get $g) (i32.mul (local.get $s) (local.get $shareGroups))))
                  (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
                  (br $dots)))
              (local.set $g (i32.add (local.get $g) (local.get $gb)))
              (br $blocks)))
          ;; the share's M_ξ[k, c] for the item's filters: each vector's lanes added as (l0 + l1) + (l2 + l3), 4 channels at a
          ;; time (their 4 vectors turned so that vector l holds their lanes l), the last C mod 4 one at a time
          (local.set $xi (i32.const 0))
          (block $xiDone
            (loop $xis
              (br_if $xiDone (i32.ge_u (local.get $xi) (local.get $xis)))
              (local.set $dst (i32.add (local.get $partials)
                (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $s) (local.get $xis)) (local.get $xi)) (local.get $K)) (local.get $k0)) (local.get $C)) (i32.const 2))))
              (local.set $k (local.get $k0))
              (block $kDone
                (loop $ks
                  (br_if $kDone (i32.ge_u (local.get $k) (local.get $kEnd)))
                  (local.set $src (i32.add (i32.add (local.get $abase) (i32.mul (local.get $xi) (local.get $accBytes)))
                    (i32.shl (i32.mul (local.get $k) (local.get $Cp)) (i32.const 4))))
                  (local.set $c (i32.const 0))
                  (block $c4Done
                    (loop $c4s
                      (br_if $c4Done (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $C)))
                      (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (v128.load (local.get $src)) (v128.load offset=16 (local.get $src))))
                      (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (v128.load (local.get $src)) (v128.load offset=16 (local.get $src))))
                      (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (v128.load offset=32 (local.get $src)) (v128.load offset=48 (local.get $src))))
                      (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (v128.load offset=32 (local.get $src)) (v128.load offset=48 (local.get $src))))
                      (v128.store (local.get $dst)
                        (f32x4.add
                          (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2))
                            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                          (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3))
                            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))))
                      (local.set $src (i32.add (local.get $src) (i32.const 64)))
                      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                      (local.set $c (i32.add (local.get $c) (i32.const 4)))
                      (br $c4s)))
                  (block $cDone
                    (loop $cs
                      (br_if $cDone (i32.ge_u (local.get $c) (local.get $C)))
                      (local.set $sum (v128.load (local.get $src)))
                      (f32.store (local.get $dst)
                        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
                          (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))
                      (local.set $src (i32.add (local.get $src) (i32.const 16)))
                      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                      (local.set $c (i32.add (local.get $c) (i32.const 1)))
                      (br $cs)))
                  (local.set $k (i32.add (local.get $k) (i32.const 1)))
                  (br $ks)))
              (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
              (br $xis))))
        (local.set $item (i32.add (local.get $item) (i32.const 1)))
        (br $items)))
    (i32.atomic.store (i32.add (local.get $scratch) (i32.shl (local.get $slot) (i32.const 2))) (i32.const 0)))

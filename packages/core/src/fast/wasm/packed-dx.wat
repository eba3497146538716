;; The input gradient of a convolution by packed panels, four images at a time: for each group of four images,
;; dcolᵀ [Kc, 4P] = W [FN, Kc]ᵀ x dy's panels by winograd-multiply.wat's $winogradMultiply (a 2 x 16 register tile:
;; 1.15x the speed of gemm.wat's 4 x 8 micro-kernel on resnet's 32 -> 64 stride-2 layer), then folded into dx by a gather
;; in $col2im's order.
;; - The columns are (pixel, image): column 4p + j holds pixel p of the group's image j, so a pixel's four images are one
;;   vector everywhere. Packing dy is then a 4 x 4 transpose of four images' planes (V in panels of 8 columns, two
;;   pixels: dy[n0 + j, f, p] at v + 4 ((p >> 1) 8 FN + 8 f + 4 (p & 1) + j), as $packB lays out B), and the fold sums
;;   four images at once, each dx element 0 + its entries in $col2im's order (rows (oy, ox) ascending), as
;;   $col2imGather does four channels at once. Whole pairs of panels (16 columns, 4 pixels) take the pixels up to a
;;   multiple of 4 and $multiplyPixels the 1 or 2 past them (7x7 planes: 196 columns computed, where pairs alone would
;;   compute 208 and one image a product 64 for 49).
;; - W is U in $winogradMultiply's terms as it lies: U[f, k] at w + 4 (f Kc + k), k = (c, fy, fx).
;; - Each dcol element is ((0 + W[0, k] dy[0]) + W[1, k] dy[1]) + ... over the filters in order, a f32x4.mul then a
;;   f32x4.add each, as $gemmRows sums it when FN <= 256 (one K block; deeper sums are split there, so they do not come
;;   here), and each dx element gets the entries $col2im adds to it in its order from +0: dx has the bits of a GEMM
;;   then col2im.
;; - A group of fewer than four images (the batch's last) computes its missing images' lanes from a copy of its last
;;   image's dy and stores none of them.
;; Each chunk of groups [g0, g1) uses group g0's slot of $scratch, $slotBytes a group (threads take disjoint ranges;
;; kernels.ts's packedDxSlotFloats sizes them): dcolᵀ [Kc, ldc] (ldc = 4P rounded up to 16), V [ldc / 8][FN][8], then
;; per pixel of dx its entries' byte offsets in dcolᵀ for channel 0 (a count in bytes, then FH FW i32), then
;; $windowEntries' lists (H (FH + 1) + W (FW + 1) i32).
  (func $packedDxImages (export "packedDxImages")
    (param $g0 i32) (param $g1 i32) (param $N i32) (param $dy i32) (param $FN i32) (param $w i32) (param $scratch i32) (param $slotBytes i32)
    (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32) (param $stride i32) (param $pad i32)
    (param $OH i32) (param $OW i32) (param $dst i32)
    (local $P i32) (local $Kc i32) (local $ldc i32) (local $ldc4 i32) (local $listBytes i32) (local $m i32) (local $v i32)
    (local $lists i32) (local $rows i32) (local $cols i32) (local $iy i32) (local $ix i32) (local $at i32) (local $p i32) (local $f i32)
    (local $g i32) (local $n0 i32) (local $count i32) (local $imageBytes i32) (local $pairedPixels i32)
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $Kc (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW))))
    (local.set $ldc (i32.and (i32.add (i32.shl (local.get $P) (i32.const 2)) (i32.const 15)) (i32.const -16)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    ;; the pixels whole pairs of panels take: all when P mod 4 is 0 or 3 or when Kc < 8 (see $multiplyPixels), else those
    ;; below the last multiple of 4
    (local.set $pairedPixels (select (local.get $P) (i32.and (local.get $P) (i32.const -4))
      (i32.or (i32.eq (i32.and (local.get $P) (i32.const 3)) (i32.const 3)) (i32.lt_u (local.get $Kc) (i32.const 8)))))
    (local.set $listBytes (i32.shl (i32.add (i32.mul (local.get $FH) (local.get $FW)) (i32.const 1)) (i32.const 2)))
    (local.set $m (i32.add (local.get $scratch) (i32.mul (local.get $g0) (local.get $slotBytes))))
    (local.set $v (i32.add (local.get $m) (i32.mul (local.get $Kc) (local.get $ldc4))))
    (local.set $lists (i32.add (local.get $v) (i32.mul (local.get $FN) (local.get $ldc4))))
    (local.set $rows (i32.add (local.get $lists) (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $listBytes))))
    (local.set $cols (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $H) (i32.add (local.get $FH) (i32.const 1))) (i32.const 2))))
    ;; V's columns past the pixels (the last pair of panels' rest), which the products read and nobody stores: zeros,
    ;; not whatever the slot held (a subnormal there would slow every product of the chunk)
    (local.set $p (local.get $P))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $p) (i32.shr_u (local.get $ldc) (i32.const 2))))
        (local.set $at (i32.add (local.get $v) (i32.add (i32.mul (i32.shr_u (local.get $p) (i32.const 1)) (i32.shl (local.get $FN) (i32.const 5)))
          (i32.shl (i32.and (local.get $p) (i32.const 1)) (i32.const 4)))))
        (local.set $f (i32.const 0))
        (block $fDone
          (loop $fLoop
            (br_if $fDone (i32.ge_u (local.get $f) (local.get $FN)))
            (v128.store (i32.add (local.get $at) (i32.shl (local.get $f) (i32.const 5))) (v128.const i32x4 0 0 0 0))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $fLoop)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $tail)))
    ;; the windows over each row and column of dx, then each pixel's entries (the same for every group of the chunk)
    (call $windowEntries (local.get $rows) (local.get $H) (local.get $FH) (local.get $stride) (local.get $pad) (local.get $OH)
      (i32.shl (local.get $OW) (i32.const 4)) (i32.mul (local.get $FW) (local.get $ldc4)))
    (call $windowEntries (local.get $cols) (local.get $W) (local.get $FW) (local.get $stride) (local.get $pad) (local.get $OW)
      (i32.const 16) (local.get $ldc4))
    (local.set $at (local.get $lists))
    (local.set $iy (i32.const 0))
    (block $yDone
      (loop $yLoop
        (br_if $yDone (i32.ge_u (local.get $iy) (local.get $H)))
        (local.set $ix (i32.const 0))
        (block $xDone
          (loop $xLoop
            (br_if $xDone (i32.ge_u (local.get $ix) (local.get $W)))
            (i32.store (local.get $at) (i32.sub
              (call $pixelTaps (i32.const 0) (i32.add (local.get $at) (i32.const 4))
                (i32.add (local.get $rows) (i32.shl (i32.mul (local.get $iy) (i32.add (local.get $FH) (i32.const 1))) (i32.const 2)))
                (i32.add (local.get $cols) (i32.shl (i32.mul (local.get $ix) (i32.add (local.get $FW) (i32.const 1))) (i32.const 2))))
              (i32.add (local.get $at) (i32.const 4))))
            (local.set $at (i32.add (local.get $at) (local.get $listBytes)))
            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
            (br $xLoop)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br $yLoop)))
    (local.set $imageBytes (i32.shl (i32.mul (local.get $C) (i32.mul (local.get $H) (local.get $W))) (i32.const 2)))
    (local.set $g (local.get $g0))
    (block $groupsDone
      (loop $groups
        (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $g1)))
        (local.set $n0 (i32.shl (local.get $g) (i32.const 2)))
        (local.set $count (i32.sub (local.get $N) (local.get $n0)))
        (if (i32.gt_u (local.get $count) (i32.const 4)) (then (local.set $count (i32.const 4))))
        (call $dyPanelsOfImages (i32.add (local.get $dy) (i32.mul (local.get $n0) (i32.shl (i32.mul (local.get $FN) (local.get $P)) (i32.const 2))))
          (local.get $count) (local.get $FN) (local.get $P) (local.get $v))
        ;; whole pairs of panels up to the last 1 or 2 pixels past a multiple of 4, which $multiplyPixels takes alone (a pair
        ;; of panels for them would be 4 or 2 times their columns: 7x7 planes, 208 columns computed for 196)
        (call $winogradMultiply (local.get $w) (local.get $FN) (local.get $Kc) (local.get $v) (i32.const 0) (local.get $m) (i32.const 0)
          (i32.shl (local.get $pairedPixels) (i32.const 2)) (local.get $ldc) (i32.const 1))
        (call $multiplyPixels (local.get $w) (local.get $FN) (local.get $Kc) (local.get $v) (local.get $m) (local.get $ldc4) (local.get $pairedPixels) (local.get $P))
        (call $foldImages (local.get $m) (local.get $lists) (local.get $listBytes) (i32.mul (i32.mul (local.get $FH) (local.get $FW)) (local.get $ldc4))
          (local.get $C) (local.get $H) (local.get $W) (i32.add (local.get $dst) (i32.mul (local.get $n0) (local.get $imageBytes)))
          (local.get $imageBytes) (local.get $count))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; V [ceil(P / 2)][FN][8] at $v from $count <= 4 images' dy [count, FN, P] at $dy: pixel p's four images at
  ;; v + (p >> 1) 32 FN + 32 f + 16 (p & 1), images past $count copies of the last one. Four pixels at a time, their
  ;; four images' rows loaded as vectors and turned 4 x 4; the last P mod 4 pixels one by one.
  (func $dyPanelsOfImages (param $dy i32) (param $count i32) (param $FN i32) (param $P i32) (param $v i32)
    (local $image i32) (local $d1 i32) (local $d2 i32) (local $d3 i32) (local $f i32) (local $p i32) (local $P4 i32)
    (local $row i32) (local $at i32) (local $panelBytes i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local.set $image (i32.shl (i32.mul (local.get $FN) (local.get $P)) (i32.const 2)))
    ;; images 1..3 as offsets from image 0's row, the last one repeated
    (local.set $d1 (select (local.get $image) (i32.const 0) (i32.gt_u (local.get $count) (i32.const 1))))
    (local.set $d2 (select (i32.shl (local.get $image) (i32.const 1)) (local.get $d1) (i32.gt_u (local.get $count) (i32.const 2))))
    (local.set $d3 (select (i32.mul (local.get $image) (i32.const 3)) (local.get $d2) (i32.gt_u (local.get $count) (i32.const 3))))
    (local.set $panelBytes (i32.shl (local.get $FN) (i32.const 5)))
    (local.set $P4 (i32.and (local.get $P) (i32.const -4)))
    (local.set $f (i32.const 0))
    (block $fDone
      (loop $fLoop
        (br_if $fDone (i32.ge_u (local.get $f) (local.get $FN)))
        (local.set $row (i32.add (local.get $dy) (i32.shl (i32.mul (local.get $f) (local.get $P)) (i32.const 2))))
        (local.set $at (i32.add (local.get $v) (i32.shl (local.get $f) (i32.const 5))))
        (local.set $p (i32.const 0))
        (block $pDone
          (loop $pLoop
            (br_if $pDone (i32.ge_u (local.get $p) (local.get $P4)))
            (local.set $r0 (v128.load (local.get $row)))
            (local.set $r1 (v128.load (i32.add (local.get $row) (local.get $d1))))
            (local.set $r2 (v128.load (i32.add (local.get $row) (local.get $d2))))
            (local.set $r3 (v128.load (i32.add (local.get $row) (local.get $d3))))
            (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            ;; pixels p, p + 1 in one panel, p + 2, p + 3 in the next
            (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
            (v128.store offset=16 (local.get $at) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
            (local.set $at (i32.add (local.get $at) (local.get $panelBytes)))
            (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
            (v128.store offset=16 (local.get $at) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3)))
            (local.set $at (i32.add (local.get $at) (local.get $panelBytes)))
            (local.set $row (i32.add (local.get $row) (i32.const 16)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $pLoop)))
        (block $p1Done
          (loop $p1Loop
            (br_if $p1Done (i32.ge_u (local.get $p) (local.get $P)))
            (v128.store (i32.add (local.get $at) (i32.shl (i32.and (local.get $p) (i32.const 1)) (i32.const 4)))
              (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.splat (f32.load (local.get $row)))
                (f32.load (i32.add (local.get $row) (local.get $d1))))
                (f32.load (i32.add (local.get $row) (local.get $d2))))
                (f32.load (i32.add (local.get $row) (local.get $d3)))))
            (if (i32.and (local.get $p) (i32.const 1)) (then (local.set $at (i32.add (local.get $at) (local.get $panelBytes)))))
            (local.set $row (i32.add (local.get $row) (i32.const 4)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $p1Loop)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $fLoop))))

  ;; dcolᵀ [Kc, ldc] at $m (columns (pixel, image): see $packedDxImages) folded into $count <= 4 images of dx [C, H, W],
  ;; the first at $dst, $imageBytes apart: dx[c, iy, ix] = 0 + its entries in $col2im's order, the entries' byte offsets
  ;; for channel 0 in the pixel's list at $lists + $listBytes (iy W + ix) (a count in bytes, then the offsets), channel
  ;; c's $chanBytes further. Per channel, four pixels of a row at a time (the last four of a row may overlap the four
  ;; before): their four images' sums as vectors, turned 4 x 4 and stored as a vector of four pixels per image; rows
  ;; narrower than 4 a pixel at a time, its images lane by lane. Each element of dx is written once.
  (func $foldImages (param $m i32) (param $lists i32) (param $listBytes i32) (param $chanBytes i32) (param $C i32) (param $H i32)
    (param $W i32) (param $dst i32) (param $imageBytes i32) (param $count i32)
    (local $c i32) (local $iy i32) (local $ix i32) (local $src i32) (local $at i32) (local $plane4 i32) (local $rowList i32) (local $pt i32)
    (local $l0 i32) (local $l1 i32) (local $l2 i32) (local $l3 i32) (local $e0 i32) (local $e1 i32) (local $e2 i32) (local $e3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local.set $plane4 (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $src (local.get $m))
    (local.set $c (i32.const 0))
    (block $cDone
      (loop $cLoop
        (br_if $cDone (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $iy (i32.const 0))
        (block $yDone
          (loop $yLoop
            (br_if $yDone (i32.ge_u (local.get $iy) (local.get $H)))
            (local.set $rowList (i32.add (local.get $lists) (i32.mul (i32.mul (local.get $iy) (local.get $W)) (local.get $listBytes))))
            (local.set $ix (i32.const 0))
            (block $xDone
              (loop $xLoop
                (br_if $xDone (i32.gt_u (i32.add (local.get $ix) (i32.const 4)) (local.get $W)))
                ;; pixel ix + j: its list at l_j, the entries from l_j + 4 to e_j
                (local.set $l0 (i32.add (local.get $rowList) (i32.mul (local.get $ix) (local.get $listBytes))))
                (local.set $l1 (i32.add (local.get $l0) (local.get $listBytes)))
                (local.set $l2 (i32.add (local.get $l1) (local.get $listBytes)))
                (local.set $l3 (i32.add (local.get $l2) (local.get $listBytes)))
                (local.set $e0 (i32.add (i32.add (local.get $l0) (i32.const 4)) (i32.load (local.get $l0))))
                (local.set $e1 (i32.add (i32.add (local.get $l1) (i32.const 4)) (i32.load (local.get $l1))))
                (local.set $e2 (i32.add (i32.add (local.get $l2) (i32.const 4)) (i32.load (local.get $l2))))
                (local.set $e3 (i32.add (i32.add (local.get $l3) (i32.const 4)) (i32.load (local.get $l3))))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $pt (i32.add (local.get $l0) (i32.const 4)))
                (block $s0Done
                  (loop $s0
                    (br_if $s0Done (i32.ge_u (local.get $pt) (local.get $e0)))
                    (local.set $a0 (f32x4.add (local.get $a0) (v128.load (i32.add (local.get $src) (i32.load (local.get $pt))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s0)))
                (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $pt (i32.add (local.get $l1) (i32.const 4)))
                (block $s1Done
                  (loop $s1
                    (br_if $s1Done (i32.ge_u (local.get $pt) (local.get $e1)))
                    (local.set $a1 (f32x4.add (local.get $a1) (v128.load (i32.add (local.get $src) (i32.load (local.get $pt))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s1)))
                (local.set $a2 (v128.const i32x4 0 0 0 0))
                (local.set $pt (i32.add (local.get $l2) (i32.const 4)))
                (block $s2Done
                  (loop $s2
                    (br_if $s2Done (i32.ge_u (local.get $pt) (local.get $e2)))
                    (local.set $a2 (f32x4.add (local.get $a2) (v128.load (i32.add (local.get $src) (i32.load (local.get $pt))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s2)))
                (local.set $a3 (v128.const i32x4 0 0 0 0))
                (local.set $pt (i32.add (local.get $l3) (i32.const 4)))
                (block $s3Done
                  (loop $s3
                    (br_if $s3Done (i32.ge_u (local.get $pt) (local.get $e3)))
                    (local.set $a3 (f32x4.add (local.get $a3) (v128.load (i32.add (local.get $src) (i32.load (local.get $pt))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s3)))
                ;; a_j holds pixel ix + j's four images: turned, image i's four pixels
                (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
                (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
                (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
                (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
                (local.set $at (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
                (block $stored
                  (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
                  (br_if $stored (i32.le_u (local.get $count) (i32.const 1)))
                  (local.set $at (i32.add (local.get $at) (local.get $imageBytes)))
                  (v128.store (local.get $at) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
                  (br_if $stored (i32.le_u (local.get $count) (i32.const 2)))
                  (local.set $at (i32.add (local.get $at) (local.get $imageBytes)))
                  (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
                  (br_if $stored (i32.le_u (local.get $count) (i32.const 3)))
                  (local.set $at (i32.add (local.get $at) (local.get $imageBytes)))
                  (v128.store (local.get $at) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3))))
                ;; the next four, or the row's last four when fewer are left (a few pixels made twice, the same values)
                (br_if $xDone (i32.eq (i32.add (local.get $ix) (i32.const 4)) (local.get $W)))
                (local.set $ix (i32.add (local.get $ix) (i32.const 4)))
                (if (i32.gt_u (i32.add (local.get $ix) (i32.const 4)) (local.get $W))
                  (then (local.set $ix (i32.sub (local.get $W) (i32.const 4)))))
                (br $xLoop)))
            ;; a row narrower than 4, one pixel at a time (a wider one is done)
            (if (i32.ge_u (local.get $W) (i32.const 4)) (then (local.set $ix (local.get $W))))
            (block $x1Done
              (loop $x1Loop
                (br_if $x1Done (i32.ge_u (local.get $ix) (local.get $W)))
                (local.set $l0 (i32.add (local.get $rowList) (i32.mul (local.get $ix) (local.get $listBytes))))
                (local.set $e0 (i32.add (i32.add (local.get $l0) (i32.const 4)) (i32.load (local.get $l0))))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $pt (i32.add (local.get $l0) (i32.const 4)))
                (block $s4Done
                  (loop $s4
                    (br_if $s4Done (i32.ge_u (local.get $pt) (local.get $e0)))
                    (local.set $a0 (f32x4.add (local.get $a0) (v128.load (i32.add (local.get $src) (i32.load (local.get $pt))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s4)))
                (local.set $at (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
                (block $stored1
                  (f32.store (local.get $at) (f32x4.extract_lane 0 (local.get $a0)))
                  (br_if $stored1 (i32.le_u (local.get $count) (i32.const 1)))
                  (local.set $at (i32.add (local.get $at) (local.get $imageBytes)))
                  (f32.store (local.get $at) (f32x4.extract_lane 1 (local.get $a0)))
                  (br_if $stored1 (i32.le_u (local.get $count) (i32.const 2)))
                  (local.set $at (i32.add (local.get $at) (local.get $imageBytes)))
                  (f32.store (local.get $at) (f32x4.extract_lane 2 (local.get $a0)))
                  (br_if $stored1 (i32.le_u (local.get $count) (i32.const 3)))
                  (local.set $at (i32.add (local.get $at) (local.get $imageBytes)))
                  (f32.store (local.get $at) (f32x4.extract_lane 3 (local.get $a0))))
                (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                (br $x1Loop)))
            (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
            (br $yLoop)))
        (local.set $src (i32.add (local.get $src) (local.get $chanBytes)))
        (local.set $dst (i32.add (local.get $dst) (local.get $plane4)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cLoop))))


  ;; Pixels [$p0, $p1) of dcolᵀ [Kc, ldc] at $m ($ldc4 bytes a row) from W at $w and V at $v (see $packedDxImages), for
  ;; the 1 or 2 pixels past the whole pairs of panels: a pixel (its four images, one vector of V) and eight rows at a
  ;; time (Kc >= 8; the last eight rows from Kc - 8, some made twice), so that eight independent sums hide the adds'
  ;; latency (two rows a time ran at half the speed). The sums $winogradMultiply makes, in the same order: (((0 + W[0, k]
  ;; dy[0]) + W[1, k] dy[1]) + ..., a f32x4.mul then a f32x4.add a filter.
  (func $multiplyPixels (param $w i32) (param $FN i32) (param $Kc i32) (param $v i32) (param $m i32) (param $ldc4 i32) (param $p0 i32) (param $p1 i32)
    (local $p i32) (local $k0 i32) (local $row i32) (local $pa i32) (local $pb i32) (local $end i32) (local $sa i32) (local $pc i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128) (local $b v128)
    (local.set $sa (i32.shl (local.get $Kc) (i32.const 2)))
    (local.set $p (local.get $p0))
    (block $pixelsDone
      (loop $pixels
        (br_if $pixelsDone (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $k0 (i32.const 0))
        (loop $rows
          (local.set $row (select (local.get $k0) (i32.sub (local.get $Kc) (i32.const 8))
            (i32.le_u (i32.add (local.get $k0) (i32.const 8)) (local.get $Kc))))
          (local.set $pa (i32.add (local.get $w) (i32.shl (local.get $row) (i32.const 2))))
          ;; pixel p's images in its panel (p >> 1), filter by filter 32 bytes apart
          (local.set $pb (i32.add (local.get $v) (i32.add (i32.mul (i32.shr_u (local.get $p) (i32.const 1)) (i32.shl (local.get $FN) (i32.const 5)))
            (i32.shl (i32.and (local.get $p) (i32.const 1)) (i32.const 4)))))
          (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $FN) (i32.const 5))))
          (local.set $c0 (v128.const i32x4 0 0 0 0)) (local.set $c1 (v128.const i32x4 0 0 0 0)) (local.set $c2 (v128.const i32x4 0 0 0 0)) (local.set $c3 (v128.const i32x4 0 0 0 0)) (local.set $c4 (v128.const i32x4 0 0 0 0)) (local.set $c5 (v128.const i32x4 0 0 0 0)) (local.set $c6 (v128.const i32x4 0 0 0 0)) (local.set $c7 (v128.const i32x4 0 0 0 0)) 
          (loop $filters
            (local.set $b (v128.load (local.get $pb)))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (v128.load32_splat offset=0 (local.get $pa)) (local.get $b))))
            (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (v128.load32_splat offset=4 (local.get $pa)) (local.get $b))))
            (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (v128.load32_splat offset=8 (local.get $pa)) (local.get $b))))
            (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (v128.load32_splat offset=12 (local.get $pa)) (local.get $b))))
            (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (v128.load32_splat offset=16 (local.get $pa)) (local.get $b))))
            (local.set $c5 (f32x4.add (local.get $c5) (f32x4.mul (v128.load32_splat offset=20 (local.get $pa)) (local.get $b))))
            (local.set $c6 (f32x4.add (local.get $c6) (f32x4.mul (v128.load32_splat offset=24 (local.get $pa)) (local.get $b))))
            (local.set $c7 (f32x4.add (local.get $c7) (f32x4.mul (v128.load32_splat offset=28 (local.get $pa)) (local.get $b))))
            (local.set $pa (i32.add (local.get $pa) (local.get $sa)))
            (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
            (br_if $filters (i32.lt_u (local.get $pb) (local.get $end))))
          (local.set $pc (i32.add (local.get $m) (i32.add (i32.mul (local.get $row) (local.get $ldc4)) (i32.shl (local.get $p) (i32.const 4)))))
          (v128.store (local.get $pc) (local.get $c0))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c1))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c2))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c3))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c4))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c5))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c6))
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
          (v128.store (local.get $pc) (local.get $c7))
          (local.set $k0 (i32.add (local.get $k0) (i32.const 8)))
          (br_if $rows (i32.lt_u (local.get $k0) (local.get $Kc))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pixels))))

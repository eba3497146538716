;; The filter gradient's last step by Winograd (winograd.ts's filtersFromSums): from the shares' sums that winograd.wat's
;; winogradDwTiles writes, dW = Gᵀ M G for every filter and channel, in float64, split across the threads by filters.

  ;; Filter-channel pairs kc = k C + c in [kc0, kc1) (kc0 a multiple of 8) of dW [K, C, 3, 3] at $dw: M_ξ[kc] is 0 plus
  ;; the $shares shares' float32 sums (share s's M_ξ[kc] at $sums + 4 ((s X + ξ) $plane + kc), X = $a², $plane = K C) in
  ;; their order; t = Gᵀ M [3, $a] adds G[i][fy] M_ij to 0 in the order of i, skipping the zeros of G; dW[fy][fx] adds
  ;; t[fy][j] G[j][fx] to 0 in the order of j; each rounded once to float32. G [$a, 3] is float64 at $g (G[i][fy] at
  ;; $g + 8 (3 i + fy)): F(2x2, 3x3)'s ($a = 4) or F(4x4, 3x3)'s ($a = 6). The same operations in the same order as a
  ;; loop over one kc at a time in JavaScript, so the same bits, but 8 kc at a time (4 f64x2), reading the sums in rows
  ;; of 8 contiguous floats where one kc at a time read one float every 4 K C bytes; the pairs past kc1 in the last
  ;; block are computed from whatever follows (the sums' region is followed by more scratch) and not stored.
  ;; A slot of $scratch this call claims (winograd.wat's winogradClaimSlot: one i32 flag per slot, then from byte 1024
  ;; slots of $slotBytes) holds t [3, $a] and dW [9] of a block, as rows of 8 float64 (64 bytes).
  (func $winogradDwFilters (export "winogradDwFilters")
    (param $kc0 i32) (param $kc1 i32) (param $sums i32) (param $shares i32) (param $plane i32) (param $a i32)
    (param $g i32) (param $dw i32) (param $scratch i32) (param $slotBytes i32)
    (local $slot i32) (local $t i32) (local $o i32) (local $rowBytes i32) (local $shareBytes i32) (local $kc i32) (local $n i32)
    (local $i i32) (local $j i32) (local $fy i32) (local $fx i32) (local $s i32) (local $src i32) (local $p i32) (local $q i32) (local $e i32)
    (local $gv v128) (local $v v128) (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local.set $slot (call $winogradClaimSlot (local.get $scratch)))
    (local.set $t (i32.add (i32.add (local.get $scratch) (i32.const 1024)) (i32.mul (local.get $slot) (local.get $slotBytes))))
    (local.set $o (i32.add (local.get $t) (i32.mul (local.get $a) (i32.const 192))))
    ;; from M_ξ to M_ξ+1 within a share, and from a share to the next
    (local.set $rowBytes (i32.shl (local.get $plane) (i32.const 2)))
    (local.set $shareBytes (i32.mul (i32.mul (local.get $rowBytes) (local.get $a)) (local.get $a)))
    (local.set $kc (local.get $kc0))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_u (local.get $kc) (local.get $kc1)))
        (local.set $n (i32.sub (local.get $kc1) (local.get $kc)))
        (if (i32.gt_u (local.get $n) (i32.const 8)) (then (local.set $n (i32.const 8))))
        (call $zeroF32 (local.get $t) (i32.mul (local.get $a) (i32.const 48)))
        (local.set $i (i32.const 0))
        (loop $is
          (local.set $j (i32.const 0))
          (loop $js
            ;; M_ij of the block's 8 kc (m0: kc, kc + 1; .. m3: kc + 6, kc + 7): 0 plus the shares' sums in their order
            (local.set $src (i32.add (local.get $sums)
              (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $a)) (local.get $j)) (local.get $plane)) (local.get $kc)) (i32.const 2))))
            (local.set $m0 (v128.const i64x2 0 0))
            (local.set $m1 (v128.const i64x2 0 0))
            (local.set $m2 (v128.const i64x2 0 0))
            (local.set $m3 (v128.const i64x2 0 0))
            (local.set $s (i32.const 0))
            (loop $ss
              (local.set $v (v128.load (local.get $src)))
              (local.set $m0 (f64x2.add (local.get $m0) (f64x2.promote_low_f32x4 (local.get $v))))
              (local.set $m1 (f64x2.add (local.get $m1) (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
              (local.set $v (v128.load offset=16 (local.get $src)))
              (local.set $m2 (f64x2.add (local.get $m2) (f64x2.promote_low_f32x4 (local.get $v))))
              (local.set $m3 (f64x2.add (local.get $m3) (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
              (local.set $src (i32.add (local.get $src) (local.get $shareBytes)))
              (local.set $s (i32.add (local.get $s) (i32.const 1)))
              (br_if $ss (i32.lt_u (local.get $s) (local.get $shares))))
            ;; t[fy][j] += G[i][fy] M_ij where G[i][fy] is not 0
            (local.set $fy (i32.const 0))
            (loop $fys
              (local.set $gv (f64x2.splat (f64.load (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $i) (i32.const 3)) (local.get $fy)) (i32.const 3))))))
              (if (f64.ne (f64x2.extract_lane 0 (local.get $gv)) (f64.const 0))
                (then
                  (local.set $p (i32.add (local.get $t) (i32.shl (i32.add (i32.mul (local.get $fy) (local.get $a)) (local.get $j)) (i32.const 6))))
                  (v128.store (local.get $p) (f64x2.add (v128.load (local.get $p)) (f64x2.mul (local.get $gv) (local.get $m0))))
                  (v128.store offset=16 (local.get $p) (f64x2.add (v128.load offset=16 (local.get $p)) (f64x2.mul (local.get $gv) (local.get $m1))))
                  (v128.store offset=32 (local.get $p) (f64x2.add (v128.load offset=32 (local.get $p)) (f64x2.mul (local.get $gv) (local.get $m2))))
                  (v128.store offset=48 (local.get $p) (f64x2.add (v128.load offset=48 (local.get $p)) (f64x2.mul (local.get $gv) (local.get $m3))))))
              (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
              (br_if $fys (i32.lt_u (local.get $fy) (i32.const 3))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $js (i32.lt_u (local.get $j) (local.get $a))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $is (i32.lt_u (local.get $i) (local.get $a))))
        ;; dW[fy][fx] = 0 + t[fy][0] G[0][fx] + .. + t[fy][a-1] G[a-1][fx] (zeros of G included), into row 3 fy + fx of o
        (local.set $fy (i32.const 0))
        (loop $outRows
          (local.set $fx (i32.const 0))
          (loop $outCols
            (local.set $m0 (v128.const i64x2 0 0))
            (local.set $m1 (v128.const i64x2 0 0))
            (local.set $m2 (v128.const i64x2 0 0))
            (local.set $m3 (v128.const i64x2 0 0))
            (local.set $p (i32.add (local.get $t) (i32.shl (i32.mul (local.get $fy) (local.get $a)) (i32.const 6))))
            (local.set $j (i32.const 0))
            (loop $terms
              (local.set $gv (f64x2.splat (f64.load (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $j) (i32.const 3)) (local.get $fx)) (i32.const 3))))))
              (local.set $m0 (f64x2.add (local.get $m0) (f64x2.mul (v128.load (local.get $p)) (local.get $gv))))
              (local.set $m1 (f64x2.add (local.get $m1) (f64x2.mul (v128.load offset=16 (local.get $p)) (local.get $gv))))
              (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (v128.load offset=32 (local.get $p)) (local.get $gv))))
              (local.set $m3 (f64x2.add (local.get $m3) (f64x2.mul (v128.load offset=48 (local.get $p)) (local.get $gv))))
              (local.set $p (i32.add (local.get $p) (i32.const 64)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $terms (i32.lt_u (local.get $j) (local.get $a))))
            (local.set $p (i32.add (local.get $o) (i32.shl (i32.add (i32.mul (local.get $fy) (i32.const 3)) (local.get $fx)) (i32.const 6))))
            (v128.store (local.get $p) (local.get $m0))
            (v128.store offset=16 (local.get $p) (local.get $m1))
            (v128.store offset=32 (local.get $p) (local.get $m2))
            (v128.store offset=48 (local.get $p) (local.get $m3))
            (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
            (br_if $outCols (i32.lt_u (local.get $fx) (i32.const 3))))
          (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
          (br_if $outRows (i32.lt_u (local.get $fy) (i32.const 3))))
        ;; dW[kc + q] of the block's first n kc: its 9 values, each rounded once to float32
        (local.set $q (i32.const 0))
        (loop $stores
          (local.set $p (i32.add (local.get $dw) (i32.mul (i32.add (local.get $kc) (local.get $q)) (i32.const 36))))
          (local.set $src (i32.add (local.get $o) (i32.shl (local.get $q) (i32.const 3))))
          (local.set $e (i32.const 0))
          (loop $values
            (f32.store (local.get $p) (f32.demote_f64 (f64.load (local.get $src))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $src (i32.add (local.get $src) (i32.const 64)))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br_if $values (i32.lt_u (local.get $e) (i32.const 9))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br_if $stores (i32.lt_u (local.get $q) (local.get $n))))
        (local.set $kc (i32.add (local.get $kc) (i32.const 8)))
        (br $blocks)))
    (i32.atomic.store (i32.add (local.get $scratch) (i32.shl (local.get $slot) (i32.const 2))) (i32.const 0)))

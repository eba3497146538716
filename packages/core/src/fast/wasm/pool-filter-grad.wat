;; The first layer's filter and bias gradients from the pooled dy alone (a convolution, ReLU, the lesson's pool), for a
;; thread's filters, with its helper $windowRow and its scratch size per filter ($pfgSlotBytes).

  ;; Byte offset of row j = (c, fy) of a filter's window, c = j / FH, in zero-padded images of Hp x Wp planes.
  (func $windowRow (param $j i32) (param $FH i32) (param $Hp i32) (param $Wp i32) (result i32)
    (i32.shl (i32.mul (i32.add (i32.mul (i32.div_u (local.get $j) (local.get $FH)) (local.get $Hp)) (i32.rem_u (local.get $j) (local.get $FH)))
      (local.get $Wp)) (i32.const 2)))

  ;; The filter gradient and bias gradient of a convolution followed by ReLU and the lesson's 2x2 stride-2 max pool,
  ;; from the pooled dy alone, for filters [f0, f1) (a thread's share): dWᵀ [Kc, FN] at $dwt (columns f0..f1-1) and
  ;; db [FN] at $db (added to; the caller zeroes it). Each pooled element o of dy [N, FN, PH, PW] reaches the conv's dy
  ;; at its window's maximum arg[o] (an index into the conv output [N, FN, OH, OW]) as v = +0 + dy[o], or +0 where
  ;; out[o] <= 0: the value $unpoolRelu writes there; the rest of the conv's dy is +0. So where the GEMM goes over all
  ;; N*OH*OW rows (dWᵀ = colᵀ . dRows, 3 of 4 rows zero after the pool, about half the rest zero after ReLU), here each
  ;; nonzero v adds v * x[its window] to its filter's row, and the dense dy is never built or packed.
  ;; The same bits as $unpoolPackDy + $gemmRows with $packDy's db, given a finite x (the caller checks: Inf*0 is NaN
  ;; there) and OW a multiple of 4:
  ;; - the GEMM sums each dWᵀ[k, f] over rows r = n*OH*OW + y*OW + x in order, in K blocks of 256 rows (a running sum
  ;;   from +0 per block, then added to C). Here the terms come in the same order (per pooled row, the maxima in its top
  ;;   conv row, then those in its bottom row, each in x order) and a block closes where r reaches a multiple of 256.
  ;;   A term left out is finite * (+0) = ±0, and adding ±0 to a sum that started at +0 changes nothing (it is never -0);
  ;; - $packDy sums channel f < FN rounded down to 4 per image as s += (d[p] + d[p+1]) + (d[p+2] + d[p+3]) over groups of
  ;;   4 (with OW a multiple of 4, a group is two windows of one row), then db += s; channels past those add each d[p]
  ;;   to db in turn.
  ;; A pooled row is read four windows at a time: the nonzero maxima go, by a mask-indexed swizzle (the table at
  ;; $scratch + 64: for each 4-bit mask, the bytes moving the set lanes to the front), to the list of (x address, v, r)
  ;; of their conv row (top or bottom), and the values (+0 where the maximum is in the other row) to each row's array
  ;; for db.
  ;; Lanes: a filter's window rows (c, fy) go five at a time (the last group repeats its last row, dropped at the end),
  ;; each row as 8 floats read from the padded image at (y*stride, x*stride) (FW <= 8; lanes past FW dropped): 10
  ;; accumulators. $x holds the zero-padded images (Hp x Wp planes, C per image).
  ;; Image by image, filter by filter: a plane's lists are all built before any is read (reading each row's list right
  ;; after its vector stores ran 1.24x against 1.42x for this order, the layer's backward vs the dense path, 1 thread),
  ;; once, for all its groups of window rows; each (filter, group) keeps its running sums between images in its state.
  ;; Images outermost keep an image's x in L1 and read dy, out and arg in memory order (1.03x against filters outermost).
  ;; $scratch: an i32 set to 1 when an arg is not in its 2x2 window (another pool: the caller then takes the dense
  ;; path); the swizzle table (256 bytes at +64, written by the caller); per chunk, at +320 + f0 * $pfgSlotBytes, the
  ;; states of its filters' groups (352 bytes each: the running block sums, 10 v128; the block sums C, 10 v128; the r
  ;; where the running block closes; the byte offsets of the five window rows), then each conv row's list length (OH
  ;; i32, rounded up to 4), then per conv row y < OH four arrays of L = PW + 4: the list's x addresses, v and r, and the
  ;; row's values.
  (func $poolFilterGrad (export "poolFilterGrad")
    (param $f0 i32) (param $f1 i32) (param $dy i32) (param $out i32) (param $arg i32) (param $x i32) (param $N i32) (param $FN i32)
    (param $C i32) (param $Hp i32) (param $Wp i32) (param $FH i32) (param $FW i32) (param $stride i32) (param $OH i32) (param $OW i32)
    (param $scratch i32) (param $dwt i32) (param $db i32)
    (local $PH i32) (local $PW i32) (local $P i32) (local $rows i32) (local $imgBytes i32) (local $fn4 i32) (local $L4 i32)
    (local $states i32) (local $st i32) (local $cst i32) (local $groups i32) (local $fStates i32) (local $cnt i32) (local $lists i32) (local $rowBytes i32) (local $xbT i32) (local $xbB i32) (local $rowT i32) (local $rowB i32) (local $y i32) (local $f i32) (local $g i32) (local $i i32) (local $fx i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $o4 i32)
    (local $n i32) (local $py i32) (local $px i32) (local $o i32) (local $w0 i32) (local $nt i32) (local $nb i32) (local $m i32)
    (local $e i32) (local $eEnd i32) (local $nextB i32) (local $xn i32) (local $nP i32) (local $t i32) (local $vals i32)
    (local $s f32) (local $dbf i32) (local $xa i32)
    (local $d v128) (local $isBot v128) (local $col v128) (local $valid v128) (local $v v128) (local $keep v128)
    (local $xb v128) (local $rv v128) (local $sh v128) (local $vs v128)
    (local $rowX i32) (local $sOW v128) (local $sPW v128) (local $sBotX v128) (local $sColX v128) (local $stepX v128)
    (local $vW0 v128) (local $vTop v128) (local $vR v128) (local $pxv v128) (local $rx v128) (local $xcol v128)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128) (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128) (local $a40 v128) (local $a41 v128)
    (local.set $PH (i32.shr_u (local.get $OH) (i32.const 1)))
    (local.set $PW (i32.shr_u (local.get $OW) (i32.const 1)))
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $rows (i32.mul (local.get $C) (local.get $FH)))
    (local.set $groups (i32.div_u (i32.add (local.get $rows) (i32.const 4)) (i32.const 5)))
    (local.set $fStates (i32.mul (local.get $groups) (i32.const 352)))
    (local.set $imgBytes (i32.shl (i32.mul (i32.mul (local.get $C) (local.get $Hp)) (local.get $Wp)) (i32.const 2)))
    (local.set $fn4 (i32.and (local.get $FN) (i32.const -4)))
    (local.set $L4 (i32.shl (i32.add (local.get $PW) (i32.const 4)) (i32.const 2)))
    ;; the chunk's slot: its filters' group states, then the lists of the plane at hand
    (local.set $states (i32.add (i32.add (local.get $scratch) (i32.const 320))
      (i32.mul (local.get $f0) (call $pfgSlotBytes (local.get $OH) (local.get $OW) (local.get $rows)))))
    (local.set $cnt (i32.add (local.get $states) (i32.mul (i32.sub (local.get $f1) (local.get $f0)) (local.get $fStates))))
    (local.set $lists (i32.add (local.get $cnt) (i32.shl (i32.and (i32.add (local.get $OH) (i32.const 3)) (i32.const -4)) (i32.const 2))))
    (local.set $rowBytes (i32.shl (local.get $L4) (i32.const 2)))
    ;; bytes between conv rows and between conv columns in the padded images
    (local.set $rowX (i32.shl (i32.mul (local.get $stride) (local.get $Wp)) (i32.const 2)))
    (local.set $sOW (i32x4.splat (local.get $OW)))
    (local.set $sPW (i32x4.splat (local.get $PW)))
    (local.set $sBotX (i32x4.splat (local.get $rowX)))
    (local.set $sColX (i32x4.splat (i32.shl (local.get $stride) (i32.const 2))))
    (local.set $stepX (i32x4.shl (local.get $sColX) (i32.const 3)))
    ;; each (filter, group)'s state: its running block sums (10 v128), C (10 v128), the row where its block closes, and the
    ;; byte offsets of its five window rows
    (local.set $st (local.get $states))
    (local.set $f (local.get $f0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $f) (local.get $f1)))
        (local.set $g (i32.const 0))
        (block $igdone
          (loop $igloop
            (br_if $igdone (i32.ge_u (local.get $g) (local.get $rows)))
            ;; the group's five window rows, the rows past the last one repeating it
            (local.set $t (i32.sub (local.get $rows) (i32.const 1)))
            (call $zeroF32 (local.get $st) (i32.const 80))
            (i32.store offset=320 (local.get $st) (i32.const 256))
            (i32.store offset=324 (local.get $st) (call $windowRow (local.get $g) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=328 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 1)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 1)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=332 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 2)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 2)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=336 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 3)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 3)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (i32.store offset=340 (local.get $st) (call $windowRow (select (i32.add (local.get $g) (i32.const 4)) (local.get $t) (i32.lt_u (i32.add (local.get $g) (i32.const 4)) (local.get $rows))) (local.get $FH) (local.get $Hp) (local.get $Wp)))
            (local.set $st (i32.add (local.get $st) (i32.const 352)))
            (local.set $g (i32.add (local.get $g) (i32.const 5)))
            (br $igloop)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $iloop)))
    ;; image by image (its x stays in L1, and the planes of dy, out and arg are read in memory order), each filter's plane
    ;; of lists built once, then read by each of the filter's groups
    (local.set $n (i32.const 0))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $xn (i32.add (local.get $x) (i32.mul (local.get $n) (local.get $imgBytes))))
        (local.set $nP (i32.mul (local.get $n) (local.get $P)))
        (local.set $st (local.get $states))
        (local.set $f (local.get $f0))
        (block $fdone
          (loop $floop
            (br_if $fdone (i32.ge_u (local.get $f) (local.get $f1)))
            (local.set $dbf (i32.add (local.get $db) (i32.shl (local.get $f) (i32.const 2))))
            ;; the plane's lists, pooled row by pooled row
            (local.set $py (i32.const 0))
            (block $ydone
              (loop $yloop
                (br_if $ydone (i32.ge_u (local.get $py) (local.get $PH)))
                (local.set $o (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $FN)) (local.get $f)) (local.get $PH)) (local.get $py)) (local.get $PW)))
                (local.set $w0 (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $FN)) (local.get $f)) (local.get $OH)) (i32.shl (local.get $py) (i32.const 1))) (local.get $OW)))
                (local.set $xbT (i32.add (local.get $lists) (i32.mul (i32.shl (local.get $py) (i32.const 1)) (local.get $rowBytes))))
                (local.set $xbB (i32.add (local.get $xbT) (local.get $rowBytes)))
                (local.set $rowT (i32.add (local.get $xbT) (i32.mul (local.get $L4) (i32.const 3))))
                (local.set $rowB (i32.add (local.get $xbB) (i32.mul (local.get $L4) (i32.const 3))))
                (local.set $nt (i32.const 0))
                (local.set $nb (i32.const 0))
                (local.set $px (i32.const 0))
                ;; per pooled row: the top conv row's first index in the conv output, the x address of its window
                ;; rows' start and its first r; per window lane, x = 2*px + 2*lane and its x address offset
                (local.set $vW0 (i32x4.splat (local.get $w0)))
                (local.set $vTop (i32x4.splat (i32.add (local.get $xn) (i32.mul (i32.shl (local.get $py) (i32.const 1)) (local.get $rowX)))))
                (local.set $vR (i32x4.splat (i32.add (local.get $nP) (i32.mul (i32.shl (local.get $py) (i32.const 1)) (local.get $OW)))))
                (local.set $pxv (v128.const i32x4 0 1 2 3))
                (local.set $rx (v128.const i32x4 0 2 4 6))
                (local.set $xcol (i32x4.mul (v128.const i32x4 0 2 4 6) (local.get $sColX)))
                (block $xdone
                  (loop $xloop
                    (br_if $xdone (i32.ge_u (local.get $px) (local.get $PW)))
                    ;; windows px .. px+3 (lanes past PW invalid); d = arg - the window's top left: 0, 1, OW or OW+1
                    (local.set $valid (i32x4.lt_s (local.get $pxv) (local.get $sPW)))
                    (local.set $d (i32x4.sub (v128.load (i32.add (local.get $arg) (i32.shl (local.get $o) (i32.const 2))))
                      (i32x4.add (local.get $vW0) (local.get $rx))))
                    (local.set $isBot (i32x4.ge_u (local.get $d) (local.get $sOW)))
                    (local.set $col (i32x4.sub (local.get $d) (v128.and (local.get $isBot) (local.get $sOW))))
                    (if (v128.any_true (v128.and (local.get $valid) (i32x4.ge_u (local.get $col) (v128.const i32x4 2 2 2 2))))
                      (then (i32.store (local.get $scratch) (i32.const 1))))
                    ;; (an arg outside its window is flagged; & 1 keeps the addresses below inside the images)
                    (local.set $col (v128.and (local.get $col) (v128.const i32x4 1 1 1 1)))
                    (local.set $v (v128.and (local.get $valid) (f32x4.add (v128.const i32x4 0 0 0 0)
                      (v128.andnot (v128.load (i32.add (local.get $dy) (i32.shl (local.get $o) (i32.const 2))))
                        (f32x4.le (v128.load (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2)))) (v128.const i32x4 0 0 0 0))))))
                    (v128.store (i32.add (local.get $rowT) (i32.shl (local.get $px) (i32.const 2))) (v128.andnot (local.get $v) (local.get $isBot)))
                    (v128.store (i32.add (local.get $rowB) (i32.shl (local.get $px) (i32.const 2))) (v128.and (local.get $v) (local.get $isBot)))
                    (local.set $keep (f32x4.ne (local.get $v) (v128.const i32x4 0 0 0 0)))
                    ;; the window's x address: its top row's, one conv row (stride image rows) down when at the bottom,
                    ;; one conv column (stride floats) right when in the right column; r likewise
                    (local.set $xb (i32x4.add (i32x4.add (local.get $vTop) (local.get $xcol))
                      (i32x4.add (v128.and (local.get $isBot) (local.get $sBotX)) (v128.and (i32x4.neg (local.get $col)) (local.get $sColX)))))
                    (local.set $rv (i32x4.add (i32x4.add (local.get $vR) (local.get $rx))
                      (i32x4.add (v128.and (local.get $isBot) (local.get $sOW)) (local.get $col))))
                    ;; top row: lanes kept and not in the bottom row, moved to the front of the list's end
                    (local.set $m (i32x4.bitmask (v128.andnot (local.get $keep) (local.get $isBot))))
                    (local.set $sh (v128.load (i32.add (i32.add (local.get $scratch) (i32.const 64)) (i32.shl (local.get $m) (i32.const 4)))))
                    (local.set $e (i32.add (local.get $xbT) (i32.shl (local.get $nt) (i32.const 2))))
                    (v128.store (local.get $e) (i8x16.swizzle (local.get $xb) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (local.get $L4)) (i8x16.swizzle (local.get $v) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1))) (i8x16.swizzle (local.get $rv) (local.get $sh)))
                    (local.set $nt (i32.add (local.get $nt) (i32.popcnt (local.get $m))))
                    ;; bottom row
                    (local.set $m (i32x4.bitmask (v128.and (local.get $keep) (local.get $isBot))))
                    (local.set $sh (v128.load (i32.add (i32.add (local.get $scratch) (i32.const 64)) (i32.shl (local.get $m) (i32.const 4)))))
                    (local.set $e (i32.add (local.get $xbB) (i32.shl (local.get $nb) (i32.const 2))))
                    (v128.store (local.get $e) (i8x16.swizzle (local.get $xb) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (local.get $L4)) (i8x16.swizzle (local.get $v) (local.get $sh)))
                    (v128.store (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1))) (i8x16.swizzle (local.get $rv) (local.get $sh)))
                    (local.set $nb (i32.add (local.get $nb) (i32.popcnt (local.get $m))))
                    (local.set $o (i32.add (local.get $o) (i32.const 4)))
                    (local.set $px (i32.add (local.get $px) (i32.const 4)))
                    (local.set $pxv (i32x4.add (local.get $pxv) (v128.const i32x4 4 4 4 4)))
                    (local.set $rx (i32x4.add (local.get $rx) (v128.const i32x4 8 8 8 8)))
                    (local.set $xcol (i32x4.add (local.get $xcol) (local.get $stepX)))
                    (br $xloop)))
                (i32.store (i32.add (local.get $cnt) (i32.shl (local.get $py) (i32.const 3))) (local.get $nt))
                (i32.store offset=4 (i32.add (local.get $cnt) (i32.shl (local.get $py) (i32.const 3))) (local.get $nb))
                (local.set $py (i32.add (local.get $py) (i32.const 1)))
                (br $yloop)))
            (local.set $s (f32.const 0))
            (local.set $g (i32.const 0))
            (block $gdone
              (loop $gloop
                (br_if $gdone (i32.ge_u (local.get $g) (local.get $rows)))
                (local.set $cst (i32.add (local.get $st) (i32.const 160)))
                (local.set $a00 (v128.load offset=0 (local.get $st)))
                (local.set $a01 (v128.load offset=16 (local.get $st)))
                (local.set $a10 (v128.load offset=32 (local.get $st)))
                (local.set $a11 (v128.load offset=48 (local.get $st)))
                (local.set $a20 (v128.load offset=64 (local.get $st)))
                (local.set $a21 (v128.load offset=80 (local.get $st)))
                (local.set $a30 (v128.load offset=96 (local.get $st)))
                (local.set $a31 (v128.load offset=112 (local.get $st)))
                (local.set $a40 (v128.load offset=128 (local.get $st)))
                (local.set $a41 (v128.load offset=144 (local.get $st)))
                (local.set $nextB (i32.load offset=320 (local.get $st)))
                (local.set $o0 (i32.load offset=324 (local.get $st)))
                (local.set $o1 (i32.load offset=328 (local.get $st)))
                (local.set $o2 (i32.load offset=332 (local.get $st)))
                (local.set $o3 (i32.load offset=336 (local.get $st)))
                (local.set $o4 (i32.load offset=340 (local.get $st)))
                ;; then the conv rows' lists in order
                (local.set $y (i32.const 0))
                (block $passdone
                  (loop $passloop
                    (br_if $passdone (i32.ge_u (local.get $y) (i32.shl (local.get $PH) (i32.const 1))))
                    (local.set $e (i32.add (local.get $lists) (i32.mul (local.get $y) (local.get $rowBytes))))
                    (local.set $eEnd (i32.add (local.get $e) (i32.shl (i32.load (i32.add (local.get $cnt) (i32.shl (local.get $y) (i32.const 2)))) (i32.const 2))))
                    (block $edone
                      (loop $eloop
                        (br_if $edone (i32.ge_u (local.get $e) (local.get $eEnd)))
                        (if (i32.ge_u (i32.load (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1)))) (local.get $nextB))
                          (then
                            (v128.store offset=0 (local.get $cst) (f32x4.add (local.get $a00) (v128.load offset=0 (local.get $cst))))
                            (v128.store offset=16 (local.get $cst) (f32x4.add (local.get $a01) (v128.load offset=16 (local.get $cst))))
                            (v128.store offset=32 (local.get $cst) (f32x4.add (local.get $a10) (v128.load offset=32 (local.get $cst))))
                            (v128.store offset=48 (local.get $cst) (f32x4.add (local.get $a11) (v128.load offset=48 (local.get $cst))))
                            (v128.store offset=64 (local.get $cst) (f32x4.add (local.get $a20) (v128.load offset=64 (local.get $cst))))
                            (v128.store offset=80 (local.get $cst) (f32x4.add (local.get $a21) (v128.load offset=80 (local.get $cst))))
                            (v128.store offset=96 (local.get $cst) (f32x4.add (local.get $a30) (v128.load offset=96 (local.get $cst))))
                            (v128.store offset=112 (local.get $cst) (f32x4.add (local.get $a31) (v128.load offset=112 (local.get $cst))))
                            (v128.store offset=128 (local.get $cst) (f32x4.add (local.get $a40) (v128.load offset=128 (local.get $cst))))
                            (v128.store offset=144 (local.get $cst) (f32x4.add (local.get $a41) (v128.load offset=144 (local.get $cst))))
                            (local.set $a00 (v128.const i32x4 0 0 0 0))
                            (local.set $a01 (v128.const i32x4 0 0 0 0))
                            (local.set $a10 (v128.const i32x4 0 0 0 0))
                            (local.set $a11 (v128.const i32x4 0 0 0 0))
                            (local.set $a20 (v128.const i32x4 0 0 0 0))
                            (local.set $a21 (v128.const i32x4 0 0 0 0))
                            (local.set $a30 (v128.const i32x4 0 0 0 0))
                            (local.set $a31 (v128.const i32x4 0 0 0 0))
                            (local.set $a40 (v128.const i32x4 0 0 0 0))
                            (local.set $a41 (v128.const i32x4 0 0 0 0))
                            (local.set $nextB (i32.add (i32.and (i32.load (i32.add (local.get $e) (i32.shl (local.get $L4) (i32.const 1)))) (i32.const -256)) (i32.const 256)))))
                        (local.set $vs (v128.load32_splat (i32.add (local.get $e) (local.get $L4))))
                        (local.set $t (i32.load (local.get $e)))
                        (local.set $xa (i32.add (local.get $t) (local.get $o0)))
                        (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o1)))
                        (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o2)))
                        (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o3)))
                        (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $xa (i32.add (local.get $t) (local.get $o4)))
                        (local.set $a40 (f32x4.add (local.get $a40) (f32x4.mul (v128.load offset=0 (local.get $xa)) (local.get $vs))))
                        (local.set $a41 (f32x4.add (local.get $a41) (f32x4.mul (v128.load offset=16 (local.get $xa)) (local.get $vs))))
                        (local.set $e (i32.add (local.get $e) (i32.const 4)))
                        (br $eloop)))
                    ;; db, once per filter (in the first group), in $packDy's order, from the row's values
                    (if (i32.eqz (local.get $g))
                      (then
                        (local.set $vals (i32.add (i32.add (local.get $lists) (i32.mul (local.get $y) (local.get $rowBytes))) (i32.mul (local.get $L4) (i32.const 3))))
                        (local.set $px (i32.const 0))
                        (if (i32.lt_u (local.get $f) (local.get $fn4))
                          (then
                            ;; s += the sum of each group of 4 of the conv row: two windows, left then right
                            (block $sdone
                              (loop $sloop
                                (br_if $sdone (i32.ge_u (local.get $px) (local.get $PW)))
                                (local.set $t (i32.add (local.get $vals) (i32.shl (local.get $px) (i32.const 2))))
                                (local.set $s (f32.add (local.get $s) (f32.add (f32.load (local.get $t)) (f32.load offset=4 (local.get $t)))))
                                (local.set $px (i32.add (local.get $px) (i32.const 2)))
                                (br $sloop))))
                          (else
                            ;; a channel past the groups of 4: each value added to db in turn
                            (block $udone
                              (loop $uloop
                                (br_if $udone (i32.ge_u (local.get $px) (local.get $PW)))
                                (f32.store (local.get $dbf) (f32.add (f32.load (i32.add (local.get $vals) (i32.shl (local.get $px) (i32.const 2)))) (f32.load (local.get $dbf))))
                                (local.set $px (i32.add (local.get $px) (i32.const 1)))
                                (br $uloop)))))))
                    (local.set $y (i32.add (local.get $y) (i32.const 1)))
                    (br $passloop)))
                (v128.store offset=0 (local.get $st) (local.get $a00))
                (v128.store offset=16 (local.get $st) (local.get $a01))
                (v128.store offset=32 (local.get $st) (local.get $a10))
                (v128.store offset=48 (local.get $st) (local.get $a11))
                (v128.store offset=64 (local.get $st) (local.get $a20))
                (v128.store offset=80 (local.get $st) (local.get $a21))
                (v128.store offset=96 (local.get $st) (local.get $a30))
                (v128.store offset=112 (local.get $st) (local.get $a31))
                (v128.store offset=128 (local.get $st) (local.get $a40))
                (v128.store offset=144 (local.get $st) (local.get $a41))
                (i32.store offset=320 (local.get $st) (local.get $nextB))
                (local.set $st (i32.add (local.get $st) (i32.const 352)))
                (local.set $g (i32.add (local.get $g) (i32.const 5)))
                (br $gloop)))
            (if (i32.lt_u (local.get $f) (local.get $fn4))
              (then (f32.store (local.get $dbf) (f32.add (local.get $s) (f32.load (local.get $dbf))))))
            (local.set $f (i32.add (local.get $f) (i32.const 1)))
            (br $floop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $nloop)))
    ;; the last blocks added to C, and dWᵀ[k, f] for each group's rows, k = row*FW + fx
    (local.set $st (local.get $states))
    (local.set $f (local.get $f0))
    (block $odone
      (loop $oloop
        (br_if $odone (i32.ge_u (local.get $f) (local.get $f1)))
        (local.set $g (i32.const 0))
        (block $ogdone
          (loop $ogloop
            (br_if $ogdone (i32.ge_u (local.get $g) (local.get $rows)))
            (v128.store offset=160 (local.get $st) (f32x4.add (v128.load offset=0 (local.get $st)) (v128.load offset=160 (local.get $st))))
            (v128.store offset=176 (local.get $st) (f32x4.add (v128.load offset=16 (local.get $st)) (v128.load offset=176 (local.get $st))))
            (v128.store offset=192 (local.get $st) (f32x4.add (v128.load offset=32 (local.get $st)) (v128.load offset=192 (local.get $st))))
            (v128.store offset=208 (local.get $st) (f32x4.add (v128.load offset=48 (local.get $st)) (v128.load offset=208 (local.get $st))))
            (v128.store offset=224 (local.get $st) (f32x4.add (v128.load offset=64 (local.get $st)) (v128.load offset=224 (local.get $st))))
            (v128.store offset=240 (local.get $st) (f32x4.add (v128.load offset=80 (local.get $st)) (v128.load offset=240 (local.get $st))))
            (v128.store offset=256 (local.get $st) (f32x4.add (v128.load offset=96 (local.get $st)) (v128.load offset=256 (local.get $st))))
            (v128.store offset=272 (local.get $st) (f32x4.add (v128.load offset=112 (local.get $st)) (v128.load offset=272 (local.get $st))))
            (v128.store offset=288 (local.get $st) (f32x4.add (v128.load offset=128 (local.get $st)) (v128.load offset=288 (local.get $st))))
            (v128.store offset=304 (local.get $st) (f32x4.add (v128.load offset=144 (local.get $st)) (v128.load offset=304 (local.get $st))))
            (local.set $i (i32.const 0))
            (block $wdone
              (loop $wloop
                (br_if $wdone (i32.or (i32.ge_u (local.get $i) (i32.const 5)) (i32.ge_u (i32.add (local.get $g) (local.get $i)) (local.get $rows))))
                (local.set $fx (i32.const 0))
                (block $fxdone
                  (loop $fxloop
                    (br_if $fxdone (i32.ge_u (local.get $fx) (local.get $FW)))
                    (f32.store (i32.add (local.get $dwt) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (local.get $g) (local.get $i)) (local.get $FW)) (local.get $fx)) (local.get $FN)) (local.get $f)) (i32.const 2)))
                      (f32.load offset=160 (i32.add (local.get $st) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $fx)) (i32.const 2)))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $fxloop)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $wloop)))
            (local.set $st (i32.add (local.get $st) (i32.const 352)))
            (local.set $g (i32.add (local.get $g) (i32.const 5)))
            (br $ogloop)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $oloop))))

  ;; Bytes per filter in $poolFilterGrad's scratch: its groups' states (352 bytes per five window rows), and room for
  ;; the lists of one plane, 4*(OH rounded up to 4) + OH*16*(OW/2 + 4), which a chunk keeps after its filters' states.
  (func $pfgSlotBytes (export "pfgSlotBytes") (param $OH i32) (param $OW i32) (param $rows i32) (result i32)
    (i32.add (i32.mul (i32.div_u (i32.add (local.get $rows) (i32.const 4)) (i32.const 5)) (i32.const 352))
      (i32.add (i32.shl (i32.and (i32.add (local.get $OH) (i32.const 3)) (i32.const -4)) (i32.const 2))
        (i32.shl (i32.mul (local.get $OH) (i32.add (i32.shr_u (local.get $OW) (i32.const 1)) (i32.const 4))) (i32.const 4)))))

;; A convolution's forward over a thread's images: the direct path ($convDirect) or the GEMM on the implicit im2col
;; (gemm.wat's $gemmRows, then conv-layout.wat's $rowsToNchw), then the lesson's pool and ReLU when fused (pool.wat,
;; relu.wat).

  ;; A direct convolution of one image, stride 1, at least 8 output columns: out [FN, OH, OW] at $out = the image's
  ;; window sums plus bias, written in NCHW as they are made. Each tile is 4 filters x 8 adjacent output pixels of
  ;; one row: per k = (c, fy, fx) the 8 pixels' inputs are 8 adjacent floats of the padded image, at the pixels'
  ;; base + kTab[k] (two vector loads, no packing), and the 4 filters' weights are splats from the packed filters
  ;; $bp ($packB's panels of 8 filters: B[k, f] = W[f, k]; a 4-filter tile reads half a panel). 8 accumulators,
  ;; as $micro. The sums run over k in the order $micro runs them, from zero, and the bias is added last, as
  ;; $rowsToNchw adds it: the output is bit-identical to the GEMM path's for Kc <= 256 (one K block). A row's
  ;; last tile, when OW is not a multiple of 8, is 4 pixels wide when at most 4 are left, else it ends at OW - 8;
  ;; either may recompute a few pixels (the same values). The 4-pixel tile takes whole panels of 8 filters
  ;; ($convDirect4), or with $bp10 != 0 half panels of 10 ($convDirect4x5: FN = 10 and 20 compute 10 and 20 filters
  ;; there, not 16 and 24). With $rowPairs (the caller sets it where FN mod 4 = 2 and OH >= 2) the 8-pixel tiles take
  ;; the filters 4 at a time but the last 2, which go over two rows at a time ($convTile2x2rows, at the odd rows: rows
  ;; oy - 1 and oy, and at the last row when OH is odd, whose row before is then computed twice, the same values): FN =
  ;; 10 computes 10 filters, not 12, at about the same work per k. A pair skips its sums when both rows' tiles at its
  ;; place did (their checks' results kept as bits, for the first 64 tiles of a row).
  ;; $wp4: bytes between rows of the padded image.
  ;; $skipFW (the caller sets it only when every weight is finite; else 0): a tile whose inputs are all ±0 (the
  ;; background of an MNIST digit, the padding) skips its sums: each would add only ±0 to +0, so they are +0, and the
  ;; tile is the bias plus +0 as always. The check reads the tile's window row by row, once for all its filters:
  ;; per row (c, fy) of the filters (C*FH = Kc / FW rows, $skipFW = FW) the FW + 7 floats from its first tap, as
  ;; ceil((FW + 7) / 4) vectors (the last may read up to 3 floats past the window: a nonzero there only keeps the sums,
  ;; and they lie in the padded images or the 64 bytes after them). Reading each tap's 8 floats instead (two loads per
  ;; k, FW times over the same floats) cost about as much as a 5-filter tile's sums.
  (func $convDirect
    (param $xi i32) (param $kTab i32) (param $Kc i32) (param $OH i32) (param $OW i32) (param $wp4 i32)
    (param $bp i32) (param $bp10 i32) (param $FN i32) (param $bias i32) (param $out i32) (param $skipFW i32) (param $rowPairs i32)
    (local $kstop i32) (local $rowStep i32) (local $vEnd i32) (local $pw2 i32) (local $f2 i32) (local $pairRow i32)
    (local $ti i64) (local $zmask i64) (local $zprev i64) (local $zero i32)
    (local $oy i32) (local $ox i32) (local $last i32) (local $narrow i32) (local $fb i32) (local $nfb i32) (local $P4 i32)
    (local $base i32) (local $pw i32) (local $pk i32) (local $kend i32) (local $o i32) (local $f i32) (local $dst i32)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $bb v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    ;; 4-filter groups: all of them, or with $rowPairs all but the last 2 filters (FN mod 4 = 2: see the row pairs below)
    (local.set $nfb (i32.shr_u (i32.add (local.get $FN) (select (i32.const 0) (i32.const 3) (local.get $rowPairs))) (i32.const 2)))
    (local.set $P4 (i32.shl (i32.mul (local.get $OH) (local.get $OW)) (i32.const 2)))
    (local.set $kend (i32.add (local.get $kTab) (i32.shl (local.get $Kc) (i32.const 2))))
    ;; the zero check: from one filter row's first tap to the next's in kTab (FW entries), and the bytes of a row's
    ;; FW + 7 floats rounded up to whole vectors
    (local.set $rowStep (i32.shl (local.get $skipFW) (i32.const 2)))
    (local.set $vEnd (i32.and (i32.add (i32.shl (i32.add (local.get $skipFW) (i32.const 7)) (i32.const 2)) (i32.const 15)) (i32.const -16)))
    ;; with $rowPairs: the last 2 filters f2 = FN - 2 (lanes f2 mod 8 of panel f2/8)
    (local.set $f2 (i32.sub (local.get $FN) (i32.const 2)))
    (local.set $pw2 (i32.add (local.get $bp) (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $f2) (i32.const 3)) (local.get $Kc)) (i32.const 5))
      (i32.shl (i32.and (local.get $f2) (i32.const 7)) (i32.const 2)))))
    (local.set $oy (i32.const 0))
    (block $ydone
      (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $ox (i32.const 0))
        (local.set $last (i32.const 0))
        (local.set $narrow (i32.const 0))
        ;; row pairs go at odd rows, (oy - 1, oy), and at the last row when OH is odd, (OH - 2, OH - 1)
        (local.set $pairRow (i32.and (local.get $rowPairs)
          (i32.or (i32.and (local.get $oy) (i32.const 1)) (i32.eq (i32.add (local.get $oy) (i32.const 1)) (local.get $OH)))))
        ;; bit i of zmask: the row's tile i read only ±0 (tiles past 63 never marked: they keep their sums)
        (local.set $zprev (local.get $zmask))
        (local.set $zmask (i64.const 0))
        (local.set $ti (i64.const 0))
        (block $xdone
          (loop $xloop
            (br_if $xdone (local.get $last))
            (if (i32.ge_u (i32.add (local.get $ox) (i32.const 8)) (local.get $OW))
              (then
                ;; the row's last tile: 4 pixels wide when at most 4 are left (OW = 12: 8 + 4, not 8 + 8 of which 4
                ;; recomputed), else 8 ending at OW - 8
                (local.set $narrow (i32.le_u (i32.sub (local.get $OW) (local.get $ox)) (i32.const 4)))
                (local.set $ox (i32.sub (local.get $OW) (select (i32.const 4) (i32.const 8) (local.get $narrow))))
                (local.set $last (i32.const 1))))
            (local.set $base (i32.add (local.get $xi)
              (i32.add (i32.mul (local.get $oy) (local.get $wp4)) (i32.shl (local.get $ox) (i32.const 2)))))
            ;; the k loops below stop at $kstop: $kTab (no sums) when the tile's inputs are all ±0
            (local.set $kstop (local.get $kend))
            (local.set $zero (i32.const 0))
            (if (local.get $skipFW)
              (then
                (local.set $zero (call $windowZero (local.get $base) (local.get $kTab) (local.get $kend) (local.get $rowStep) (local.get $vEnd)))
                (if (local.get $zero)
                  (then
                    (local.set $kstop (local.get $kTab))
                    (local.set $zmask (i64.or (local.get $zmask) (i64.shl (i64.extend_i32_u (i64.lt_u (local.get $ti) (i64.const 64))) (local.get $ti))))))))
            (local.set $fb (i32.const 0))
            (if (local.get $narrow)
              (then
                (if (local.get $bp10)
                  (then
                    (call $convDirect4x5 (local.get $base) (local.get $kTab) (local.get $kstop) (local.get $bp10) (local.get $Kc) (local.get $FN)
                      (local.get $bias) (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (i32.const 2)))
                      (local.get $P4)))
                  (else
                    (call $convDirect4 (local.get $base) (local.get $kTab) (local.get $kstop) (local.get $bp) (local.get $Kc) (local.get $FN)
                      (local.get $bias) (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (i32.const 2)))
                      (local.get $P4))))
                (local.set $fb (local.get $nfb))))
            (block $fdone
              (loop $floop
                (br_if $fdone (i32.ge_u (local.get $fb) (local.get $nfb)))
                ;; filters 4fb .. 4fb+3: panel fb/2, lanes 4*(fb mod 2) ..
                (local.set $pw (i32.add (local.get $bp)
                  (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $fb) (i32.const 1)) (local.get $Kc)) (i32.const 5))
                           (i32.shl (i32.and (local.get $fb) (i32.const 1)) (i32.const 4)))))
                (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
                (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
                (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
                (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
                (local.set $pk (local.get $kTab))
                (block $kdone
                  (loop $kloop
                    (br_if $kdone (i32.ge_u (local.get $pk) (local.get $kstop)))
                    (local.set $o (i32.add (local.get $base) (i32.load (local.get $pk))))
                    (local.set $b0 (v128.load (local.get $o)))
                    (local.set $b1 (v128.load offset=16 (local.get $o)))
                    (local.set $a (v128.load32_splat (local.get $pw)))
                    (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $a (v128.load32_splat offset=4 (local.get $pw)))
                    (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $a (v128.load32_splat offset=8 (local.get $pw)))
                    (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $a (v128.load32_splat offset=12 (local.get $pw)))
                    (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                    (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                    (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
                    (local.set $pw (i32.add (local.get $pw) (i32.const 32)))
                    (br $kloop)))
                ;; out[f, oy, ox .. ox+7] = sums + bias[f], for the tile's filters f < FN
                (local.set $f (i32.shl (local.get $fb) (i32.const 2)))
                (local.set $dst (i32.add (local.get $out) (i32.add (i32.mul (local.get $f) (local.get $P4))
                  (i32.shl (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (i32.const 2)))))
                (local.set $bb (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c00)))
                (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c01)))
                (if (i32.lt_u (i32.add (local.get $f) (i32.const 1)) (local.get $FN))
                  (then
                    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                    (local.set $bb (v128.load32_splat offset=4 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                    (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c10)))
                    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c11)))))
                (if (i32.lt_u (i32.add (local.get $f) (i32.const 2)) (local.get $FN))
                  (then
                    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                    (local.set $bb (v128.load32_splat offset=8 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                    (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c20)))
                    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c21)))))
                (if (i32.lt_u (i32.add (local.get $f) (i32.const 3)) (local.get $FN))
                  (then
                    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
                    (local.set $bb (v128.load32_splat offset=12 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
                    (v128.store (local.get $dst) (f32x4.add (local.get $bb) (local.get $c30)))
                    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $bb) (local.get $c31)))))
                (local.set $fb (i32.add (local.get $fb) (i32.const 1)))
                (br $floop)))
            ;; the last 2 filters over rows (oy - 1, oy) here (a 4-pixel tile took every filter): their sums skipped when
            ;; both rows' tiles read only ±0
            (if (i32.and (local.get $pairRow) (i32.eqz (local.get $narrow)))
              (then
                (call $convTile2x2rows (i32.sub (local.get $base) (local.get $wp4)) (local.get $kTab)
                  (select (local.get $kTab) (local.get $kend)
                    (i32.and (local.get $zero) (i32.and (i32.wrap_i64 (i64.shr_u (local.get $zprev) (local.get $ti))) (i64.lt_u (local.get $ti) (i64.const 64)))))
                  (local.get $pw2) (local.get $wp4) (local.get $f2) (local.get $bias)
                  (i32.add (local.get $out) (i32.add (i32.mul (local.get $f2) (local.get $P4))
                    (i32.shl (i32.add (i32.mul (i32.sub (local.get $oy) (i32.const 1)) (local.get $OW)) (local.get $ox)) (i32.const 2))))
                  (local.get $P4) (i32.shl (local.get $OW) (i32.const 2)))))
            (local.set $ti (i64.add (local.get $ti) (i64.const 1)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 8)))
            (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop))))

  ;; Whether the 8-pixel tile at $base (its window's taps at $base + kTab[k], k < ($kend - $kTab) / 4) reads only ±0: the
  ;; window row by row, $rowStep bytes of kTab (FW entries) from one filter row's first tap to the next, $vEnd bytes
  ;; read from each (FW + 7 floats rounded up to whole vectors; see $convDirect's $skipFW), up to the first row that
  ;; holds a nonzero.
  (func $windowZero (param $base i32) (param $kTab i32) (param $kend i32) (param $rowStep i32) (param $vEnd i32) (result i32)
    (local $pk i32) (local $o i32) (local $v i32) (local $bits v128)
    (local.set $pk (local.get $kTab))
    (block $zdone
      (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $pk) (local.get $kend)))
        (local.set $o (i32.add (local.get $base) (i32.load (local.get $pk))))
        (local.set $v (i32.const 0))
        (loop $vloop
          (local.set $bits (v128.or (local.get $bits) (v128.load (i32.add (local.get $o) (local.get $v)))))
          (local.set $v (i32.add (local.get $v) (i32.const 16)))
          (br_if $vloop (i32.lt_u (local.get $v) (local.get $vEnd))))
        ;; a nonzero ends the check at its row: dense inputs (an input gradient's dy) pay about one row, not the window
        (if (v128.any_true (v128.and (local.get $bits) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff)))
          (then (return (i32.const 0))))
        (local.set $pk (i32.add (local.get $pk) (local.get $rowStep)))
        (br $zloop)))
    (i32.const 1))

  ;; $convDirect's tile of 2 filters (f, f + 1: lanes of a panel at $pw, 32 bytes from one k to the next) x 8 pixels of
  ;; two rows (at $base and $base + $wp4, + kTab[k] per k up to $kstop): 8 accumulators, 4 input vectors and 2 splats
  ;; (14 vectors: they fit the registers), the work per k of a 4-filter tile. The same sums in the same order; stored
  ;; plus bias at $dst (row 2 at + $OW4, filter f + 1 at + $P4).
  (func $convTile2x2rows
    (param $base i32) (param $kTab i32) (param $kstop i32) (param $pw i32) (param $wp4 i32) (param $f i32) (param $bias i32)
    (param $dst i32) (param $P4 i32) (param $OW4 i32)
    (local $pk i32) (local $o i32) (local $p i32) (local $a0 v128) (local $a1 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128) (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local.set $pk (local.get $kTab))
    (block $kdone
      (loop $kloop
        (br_if $kdone (i32.ge_u (local.get $pk) (local.get $kstop)))
        (local.set $o (i32.add (local.get $base) (i32.load (local.get $pk))))
        (local.set $p (i32.add (local.get $o) (local.get $wp4)))
        (local.set $b0 (v128.load (local.get $o)))
        (local.set $b1 (v128.load offset=16 (local.get $o)))
        (local.set $b2 (v128.load (local.get $p)))
        (local.set $b3 (v128.load offset=16 (local.get $p)))
        (local.set $a0 (v128.load32_splat (local.get $pw)))
        (local.set $a1 (v128.load32_splat offset=4 (local.get $pw)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a0) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a0) (local.get $b1))))
        (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $a0) (local.get $b2))))
        (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $a0) (local.get $b3))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a1) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a1) (local.get $b1))))
        (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $a1) (local.get $b2))))
        (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $a1) (local.get $b3))))
        (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
        (local.set $pw (i32.add (local.get $pw) (i32.const 32)))
        (br $kloop)))
    (local.set $a0 (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
    (local.set $a1 (v128.load32_splat offset=4 (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2)))))
    (local.set $p (i32.add (local.get $dst) (local.get $OW4)))
    (v128.store (local.get $dst) (f32x4.add (local.get $a0) (local.get $c00)))
    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $a0) (local.get $c01)))
    (v128.store (local.get $p) (f32x4.add (local.get $a0) (local.get $c02)))
    (v128.store offset=16 (local.get $p) (f32x4.add (local.get $a0) (local.get $c03)))
    (local.set $dst (i32.add (local.get $dst) (local.get $P4)))
    (local.set $p (i32.add (local.get $p) (local.get $P4)))
    (v128.store (local.get $dst) (f32x4.add (local.get $a1) (local.get $c10)))
    (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $a1) (local.get $c11)))
    (v128.store (local.get $p) (f32x4.add (local.get $a1) (local.get $c12)))
    (v128.store offset=16 (local.get $p) (f32x4.add (local.get $a1) (local.get $c13))))

  ;; $convDirect's 4-pixel tile, a row's last when at most 4 pixels are left: each panel of 8 filters (8 accumulators,
  ;; as many as the 8-pixel tile keeps in flight: with 4, one per filter of a group, the adds' latency bound it and it
  ;; ran no faster than the 8 pixels) over the 4 pixels at $base (+ kTab[k] per k, up to $kstop); the same sums in the
  ;; same order as the 8-pixel tile's (so the same bits), written to $dst (filter f's at $dst + f * $P4) plus bias, for
  ;; the filters f < FN (a panel's filters past FN are $packB's zero padding).
  (func $convDirect4
    (param $base i32) (param $kTab i32) (param $kstop i32) (param $bp i32) (param $Kc i32) (param $FN i32)
    (param $bias i32) (param $dst i32) (param $P4 i32)
    (local $f i32) (local $pw i32) (local $pk i32) (local $at i32) (local $pb i32) (local $b0 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (block $fdone
      (loop $floop
        (br_if $fdone (i32.ge_u (local.get $f) (local.get $FN)))
        ;; filters f .. f+7: panel f/8
        (local.set $pw (i32.add (local.get $bp) (i32.shl (i32.mul (i32.shr_u (local.get $f) (i32.const 3)) (local.get $Kc)) (i32.const 5))))
        (local.set $c0 (v128.const i32x4 0 0 0 0)) (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0)) (local.set $c3 (v128.const i32x4 0 0 0 0))
        (local.set $c4 (v128.const i32x4 0 0 0 0)) (local.set $c5 (v128.const i32x4 0 0 0 0))
        (local.set $c6 (v128.const i32x4 0 0 0 0)) (local.set $c7 (v128.const i32x4 0 0 0 0))
        (local.set $pk (local.get $kTab))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $pk) (local.get $kstop)))
            (local.set $b0 (v128.load (i32.add (local.get $base) (i32.load (local.get $pk)))))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (v128.load32_splat (local.get $pw)) (local.get $b0))))
            (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (v128.load32_splat offset=4 (local.get $pw)) (local.get $b0))))
            (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (v128.load32_splat offset=8 (local.get $pw)) (local.get $b0))))
            (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (v128.load32_splat offset=12 (local.get $pw)) (local.get $b0))))
            (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (v128.load32_splat offset=16 (local.get $pw)) (local.get $b0))))
            (local.set $c5 (f32x4.add (local.get $c5) (f32x4.mul (v128.load32_splat offset=20 (local.get $pw)) (local.get $b0))))
            (local.set $c6 (f32x4.add (local.get $c6) (f32x4.mul (v128.load32_splat offset=24 (local.get $pw)) (local.get $b0))))
            (local.set $c7 (f32x4.add (local.get $c7) (f32x4.mul (v128.load32_splat offset=28 (local.get $pw)) (local.get $b0))))
            (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
            (local.set $pw (i32.add (local.get $pw) (i32.const 32)))
            (br $kloop)))
        ;; out[f + j, ...] = sums + bias, for j < 8 while f + j < FN ($at: filter f + j's pixels)
        (local.set $at (i32.add (local.get $dst) (i32.mul (local.get $f) (local.get $P4))))
        (local.set $pb (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2))))
        (block $stored
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat (local.get $pb)) (local.get $c0)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 1)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=4 (local.get $pb)) (local.get $c1)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 2)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=8 (local.get $pb)) (local.get $c2)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 3)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=12 (local.get $pb)) (local.get $c3)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 4)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=16 (local.get $pb)) (local.get $c4)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 5)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=20 (local.get $pb)) (local.get $c5)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 6)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=24 (local.get $pb)) (local.get $c6)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 7)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=28 (local.get $pb)) (local.get $c7))))
        (local.set $f (i32.add (local.get $f) (i32.const 8)))
        (br $floop))))

  ;; $convDirect's 4-pixel tile by half panels of 10 filters ($bp10: Bp[q][k][j] = W[10q + j, k], zero past FN): 5
  ;; accumulators, 5 filters x the 4 pixels at $base (+ kTab[k] per k, up to $kstop). The sums and the stores are
  ;; $convDirect4's (filter f's at $dst + f * $P4, plus bias, for f < FN). Against its 8 accumulators (8 filters by
  ;; panels of 8) it wastes less where FN is not a multiple of 8 (10 computes 10, not 16) and needs fewer registers:
  ;; 8 accumulators, their 8 splats and the input are 17 vectors, past the 15 that V8 allocates, so some spill.
  (func $convDirect4x5
    (param $base i32) (param $kTab i32) (param $kstop i32) (param $bp10 i32) (param $Kc i32) (param $FN i32)
    (param $bias i32) (param $dst i32) (param $P4 i32)
    (local $f i32) (local $pw i32) (local $pk i32) (local $at i32) (local $pb i32) (local $b0 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128)
    (block $fdone
      (loop $floop
        (br_if $fdone (i32.ge_u (local.get $f) (local.get $FN)))
        ;; filters f .. f+4: panel f/10 (Kc rows of 40 bytes), lanes f mod 10 = 0 or 5
        (local.set $pw (i32.add (i32.add (local.get $bp10) (i32.mul (i32.div_u (local.get $f) (i32.const 10)) (i32.mul (local.get $Kc) (i32.const 40))))
          (select (i32.const 20) (i32.const 0) (i32.rem_u (local.get $f) (i32.const 10)))))
        (local.set $c0 (v128.const i32x4 0 0 0 0)) (local.set $c1 (v128.const i32x4 0 0 0 0)) (local.set $c2 (v128.const i32x4 0 0 0 0))
        (local.set $c3 (v128.const i32x4 0 0 0 0)) (local.set $c4 (v128.const i32x4 0 0 0 0))
        (local.set $pk (local.get $kTab))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $pk) (local.get $kstop)))
            (local.set $b0 (v128.load (i32.add (local.get $base) (i32.load (local.get $pk)))))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (v128.load32_splat (local.get $pw)) (local.get $b0))))
            (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (v128.load32_splat offset=4 (local.get $pw)) (local.get $b0))))
            (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (v128.load32_splat offset=8 (local.get $pw)) (local.get $b0))))
            (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (v128.load32_splat offset=12 (local.get $pw)) (local.get $b0))))
            (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (v128.load32_splat offset=16 (local.get $pw)) (local.get $b0))))
            (local.set $pk (i32.add (local.get $pk) (i32.const 4)))
            (local.set $pw (i32.add (local.get $pw) (i32.const 40)))
            (br $kloop)))
        ;; out[f + j, ...] = sums + bias, for j < 5 while f + j < FN ($at: filter f + j's pixels)
        (local.set $at (i32.add (local.get $dst) (i32.mul (local.get $f) (local.get $P4))))
        (local.set $pb (i32.add (local.get $bias) (i32.shl (local.get $f) (i32.const 2))))
        (block $stored
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat (local.get $pb)) (local.get $c0)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 1)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=4 (local.get $pb)) (local.get $c1)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 2)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=8 (local.get $pb)) (local.get $c2)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 3)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=12 (local.get $pb)) (local.get $c3)))
          (br_if $stored (i32.ge_u (i32.add (local.get $f) (i32.const 4)) (local.get $FN)))
          (local.set $at (i32.add (local.get $at) (local.get $P4)))
          (v128.store (local.get $at) (f32x4.add (v128.load32_splat offset=16 (local.get $pb)) (local.get $c4))))
        (local.set $f (i32.add (local.get $f) (i32.const 5)))
        (br $floop))))

  ;; dst [C, OH*OW] = the pixels (oy*stride, ox*stride) of src [C, H, W] ($plane and $row: bytes between its planes and
  ;; rows): a strided 1x1 convolution's inputs, packed so that $convDirect reads 8 pixels as two vectors. At stride 2,
  ;; 4 pixels from 8 adjacent floats (two loads and a shuffle) while those lie in the row; the rest one by one.
  (func $gatherPixels
    (param $src i32) (param $C i32) (param $plane i32) (param $row i32) (param $stride i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $c i32) (local $oy i32) (local $ox i32) (local $p i32) (local $vecEnd i32) (local $s4 i32)
    (local.set $s4 (i32.shl (local.get $stride) (i32.const 2)))
    ;; at stride 2 the 4 pixels from ox read floats 2ox .. 2ox+7: while 8ox + 32 <= $row bytes
    (local.set $vecEnd (select (i32.sub (local.get $row) (i32.const 32)) (i32.const -1) (i32.eq (local.get $stride) (i32.const 2))))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $oy (i32.const 0))
        (block $ydone
          (loop $yloop
            (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
            (local.set $p (i32.add (i32.add (local.get $src) (i32.mul (local.get $c) (local.get $plane)))
              (i32.mul (i32.mul (local.get $oy) (local.get $stride)) (local.get $row))))
            (local.set $ox (i32.const 0))
            (block $vdone
              (loop $vloop
                (br_if $vdone (i32.gt_s (i32.shl (local.get $ox) (i32.const 3)) (local.get $vecEnd)))
                (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                  (v128.load (local.get $p)) (v128.load offset=16 (local.get $p))))
                (local.set $p (i32.add (local.get $p) (i32.const 32)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                (br $vloop)))
            (block $sdone
              (loop $sloop
                (br_if $sdone (i32.ge_u (local.get $ox) (local.get $OW)))
                (f32.store (local.get $dst) (f32.load (local.get $p)))
                (local.set $p (i32.add (local.get $p) (local.get $s4)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $sloop)))
            (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
            (br $yloop)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cloop))))

  ;; The convolution of images [n0, n1) of a batch by packed filters ($packB's panels, B[k, f] = W[f, k]; for the
  ;; direct path's 4-pixel tiles also in panels of 10 at $bp10, or 0: see $convDirect), for one
  ;; thread's share of it, image by image, into out [N, FN, OH, OW] (NCHW, plus bias). With pooled != 0, also the
  ;; lesson's 2x2 max pool of that output into pooled [N, FN, OH/2, OW/2] (argmax into arg, as indices into out)
  ;; and ReLU on it in place; otherwise, with reluOut != 0, ReLU on out in place. $skipFW: see $convDirect.
  ;; The images are zero-padded at $x, $imgBytes apart. Three ways to the output:
  ;; - $wp4 != 0 (stride 1, OW >= 8, Kc <= 256): $convDirect, $wp4 the padded rows' length in bytes;
  ;; - $pointStride != 0 (a 1x1 convolution, pad 0, OH*OW >= 8, Kc <= 256; $wp4 = 4*OH*OW): $convDirect over each image's
  ;;   OH*OW output pixels as one row, so that no row ends in a short tile (7x7 is one row of 49, not seven of 7, which
  ;;   $convDirect does not take); the pixel p's input at channel c is at kTab[c] + 4p. At stride 1 that is the image
  ;;   itself (kTab[c] = c*H*W*4); at stride 2 or more its pixels (oy*stride, ox*stride) are first gathered into a
  ;;   [C, OH*OW] panel in the chunk's slot ($gatherPixels; kTab[c] = c*OH*OW*4, $xRow the input's rows in bytes),
  ;;   where the GEMM path read them through its row table (4-row tiles, then $rowsToNchw): the same sums, no
  ;;   transpose;
  ;; - otherwise a GEMM on the implicit im2col: C rows = im2col(x) . Bp, the im2col matrix read in place through
  ;;   the offset tables rowTab [N*OH*OW] and kTab [Kc] (see $gemmRows), then $rowsToNchw with the bias; without a
  ;;   pool, for 1, 2 or 4 images at once, so that their rows fill the GEMM's 4-row tiles (the rows' sums do not
  ;;   depend on which rows share a tile). Every image's C rows go to the same slot, the one of image n0 in C
  ;;   [N*OH*OW, ldc] (threads take disjoint image ranges, so they never share one: a chunk's images at once start
  ;;   there and stay inside its range), which stays in L2 from the GEMM's stores to the layout pass's loads.
  (func $convImages (export "convImages")
    (param $n0 i32) (param $n1 i32) (param $x i32) (param $imgBytes i32) (param $wp4 i32) (param $rowTab i32) (param $kTab i32)
    (param $Kc i32) (param $OH i32) (param $OW i32) (param $bp i32) (param $bp10 i32) (param $FN i32)
    (param $c i32) (param $bias i32) (param $out i32) (param $pooled i32) (param $arg i32) (param $reluOut i32) (param $skipFW i32) (param $rowPairs i32)
    (param $pointStride i32) (param $xRow i32)
    (local $xn i32) (local $P i32) (local $PQ i32) (local $ldc i32) (local $slot i32) (local $n i32) (local $outN i32) (local $pq i32) (local $G i32) (local $g i32)
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    ;; the GEMM takes G images at once where nothing is pooled, enough that their rows fill whole 4-row tiles: P = 49
    ;; (7x7) fills 12 tiles and a quarter of one, 4 images 49
    (local.set $G (select (i32.const 1) (select (i32.const 2) (i32.const 4) (i32.eqz (i32.and (local.get $P) (i32.const 1))))
      (i32.eqz (i32.and (local.get $P) (i32.const 3)))))
    (local.set $PQ (i32.mul (i32.shr_u (local.get $OH) (i32.const 1)) (i32.shr_u (local.get $OW) (i32.const 1))))
    ;; C's rows are FN rounded up to whole 8-column panels (ldc): the last panel is stored as whole vectors, its
    ;; extra columns (zeros times the zero padding of Bp) never read
    (local.set $ldc (i32.and (i32.add (local.get $FN) (i32.const 7)) (i32.const -8)))
    ;; the chunk's slot: image n0's C rows [P, ldc], or its gathered panel [Kc, P]
    (local.set $slot (i32.add (local.get $c) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $P))
      (select (local.get $Kc) (local.get $ldc) (local.get $pointStride))) (i32.const 2))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        ;; pooled, an image's output is only read by the pool right after: every image of the chunk reuses image n0's
        ;; place, which stays in L2 (the argmax still counts from the batch's first output, through the pool's base)
        (local.set $outN (i32.add (local.get $out) (i32.shl (i32.mul (i32.mul (select (local.get $n0) (local.get $n) (local.get $pooled)) (local.get $FN)) (local.get $P)) (i32.const 2))))
        ;; images n .. n+g-1 at once: G of them by the GEMM without a pool (fewer at the chunk's end), else one
        (local.set $g (select (i32.const 1) (local.get $G) (i32.or (local.get $wp4) (local.get $pooled))))
        (if (i32.gt_u (local.get $g) (i32.sub (local.get $n1) (local.get $n))) (then (local.set $g (i32.sub (local.get $n1) (local.get $n)))))
        (local.set $xn (i32.add (local.get $x) (i32.mul (local.get $n) (local.get $imgBytes))))
        (if (i32.gt_u (local.get $pointStride) (i32.const 1))
          (then
            (call $gatherPixels (local.get $xn) (local.get $Kc) (i32.div_u (local.get $imgBytes) (local.get $Kc)) (local.get $xRow)
              (local.get $pointStride) (local.get $OH) (local.get $OW) (local.get $slot))
            (local.set $xn (local.get $slot))))
        (if (local.get $wp4)
          (then
            ;; a 1x1 convolution's pixels as one row of P
            (call $convDirect (local.get $xn) (local.get $kTab) (local.get $Kc)
              (select (i32.const 1) (local.get $OH) (local.get $pointStride)) (select (local.get $P) (local.get $OW) (local.get $pointStride))
              (local.get $wp4) (local.get $bp) (local.get $bp10) (local.get $FN) (local.get $bias) (local.get $outN) (local.get $skipFW) (local.get $rowPairs)))
          (else
            ;; rows n*P .. of C land in the slot: C's base moved back by n*P rows (i32 arithmetic wraps, the sum does not)
            (call $gemmRows (i32.mul (local.get $n) (local.get $P)) (i32.mul (i32.add (local.get $n) (local.get $g)) (local.get $P))
              (local.get $ldc) (local.get $Kc) (local.get $x) (i32.const 0) (i32.const 0) (local.get $bp)
              (i32.sub (local.get $slot) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $P)) (local.get $ldc)) (i32.const 2)))
              (local.get $ldc) (i32.const 0) (local.get $rowTab) (local.get $kTab))
            (call $rowsToNchw (local.get $slot) (local.get $g) (local.get $P) (local.get $FN) (local.get $ldc) (local.get $bias) (local.get $outN))))
        (if (i32.ne (local.get $pooled) (i32.const 0))
          (then
            (local.set $pq (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $PQ)) (i32.const 2)))
            (if (local.get $arg)
              (then
                (call $maxPool2x2 (local.get $outN) (local.get $FN) (local.get $OH) (local.get $OW)
                  (i32.shr_u (local.get $OH) (i32.const 1)) (i32.shr_u (local.get $OW) (i32.const 1))
                  (i32.add (local.get $pooled) (local.get $pq)) (i32.add (local.get $arg) (local.get $pq))
                  (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P)))
                (call $relu (i32.add (local.get $pooled) (local.get $pq)) (i32.mul (local.get $FN) (local.get $PQ))
                  (i32.add (local.get $pooled) (local.get $pq))))
              (else
                ;; no argmax wanted (evaluation): the pool and ReLU in one pass
                (call $maxPool2x2Relu (local.get $outN) (local.get $FN) (local.get $OH) (local.get $OW)
                  (i32.shr_u (local.get $OH) (i32.const 1)) (i32.shr_u (local.get $OW) (i32.const 1))
                  (i32.add (local.get $pooled) (local.get $pq))))))
          (else
            (if (local.get $reluOut)
              (then (call $relu (local.get $outN) (i32.mul (i32.mul (local.get $g) (local.get $FN)) (local.get $P)) (local.get $outN))))))
        (local.set $n (i32.add (local.get $n) (local.get $g)))
        (br $images))))

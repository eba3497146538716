;; The input gradient of stride-2 convolutions by phases (see stride2.ts): each phase of dx (its even/odd rows and
;; columns) a stride-1 convolution of dy, a "flat" direct convolution ($flatConv), split across the threads by images.

  ;; out[m, q] = sum_k Bp[k, m] * img[kTab[k] + 4q] for m < M, q < Q (a multiple of 8), out's rows $ldo floats apart.
  ;; The image is read as one long row: the caller lays its input out so that every tap k reads the output's pixels
  ;; (y, x), q = y*OW + x, at kTab[k] + 4q (one copy per column offset of the taps, OW floats a row), so 8 adjacent q are
  ;; 8 adjacent floats at every k and no work is thrown away but the last tile's tail. A tile of 4 rows m x 8 pixels q
  ;; takes two vector loads of the image and 4 splats of the packed weights per k ($packB's panels of 8 columns m: Bp[k, m]
  ;; at panel m/8, lane m mod 8), 8 accumulators, as conv.wat's $convDirect. The sums run over k in order from zero.
  ;; Reads reach up to 8 floats past the last pixel's: the caller leaves room.
  (func $flatConv
    (param $img i32) (param $kTab i32) (param $K i32) (param $bp i32) (param $M i32) (param $Q i32) (param $out i32) (param $ldo i32)
    (local $q i32) (local $base i32) (local $fb i32) (local $nfb i32) (local $pw i32) (local $pk i32) (local $kend i32)
    (local $o i32) (local $f i32) (local $dst i32) (local $ldo4 i32)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $nfb (i32.shr_u (i32.add (local.get $M) (i32.const 3)) (i32.const 2)))
    (local.set $kend (i32.add (local.get $kTab) (i32.shl (local.get $K) (i32.const 2))))
    (local.set $ldo4 (i32.shl (local.get $ldo) (i32.const 2)))
    (local.set $q (i32.const 0))
    (block $qdone
      (loop $qloop
        (br_if $qdone (i32.ge_u (local.get $q) (local.get $Q)))
        (local.set $base (i32.add (local.get $img) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $fb (i32.const 0))
        (block $fdone
          (loop $floop
            (br_if $fdone (i32.ge_u (local.get $fb) (local.get $nfb)))
            ;; rows 4fb .. 4fb+3: panel fb/2, lanes 4*(fb mod 2) ..
            (local.set $pw (i32.add (local.get $bp)
              (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $fb) (i32.const 1)) (local.get $K)) (i32.const 5))
                       (i32.shl (i32.and (local.get $fb) (i32.const 1)) (i32.const 4)))))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $pk (local.get $kTab))
            (block $kdone
              (loop $kloop
                (br_if $kdone (i32.ge_u (local.get $pk) (local.get $kend)))
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
            ;; out[m, q .. q+7] for the tile's rows m < M
            (local.set $f (i32.shl (local.get $fb) (i32.const 2)))
            (local.set $dst (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $f) (local.get $ldo)) (local.get $q)) (i32.const 2))))
            (v128.store (local.get $dst) (local.get $c00))
            (v128.store offset=16 (local.get $dst) (local.get $c01))
            (if (i32.lt_u (i32.add (local.get $f) (i32.const 1)) (local.get $M))
              (then
                (local.set $dst (i32.add (local.get $dst) (local.get $ldo4)))
                (v128.store (local.get $dst) (local.get $c10))
                (v128.store offset=16 (local.get $dst) (local.get $c11))))
            (if (i32.lt_u (i32.add (local.get $f) (i32.const 2)) (local.get $M))
              (then
                (local.set $dst (i32.add (local.get $dst) (local.get $ldo4)))
                (v128.store (local.get $dst) (local.get $c20))
                (v128.store offset=16 (local.get $dst) (local.get $c21))))
            (if (i32.lt_u (i32.add (local.get $f) (i32.const 3)) (local.get $M))
              (then
                (local.set $dst (i32.add (local.get $dst) (local.get $ldo4)))
                (v128.store (local.get $dst) (local.get $c30))
                (v128.store offset=16 (local.get $dst) (local.get $c31))))
            (local.set $fb (i32.add (local.get $fb) (i32.const 1)))
            (br $floop)))
        (local.set $q (i32.add (local.get $q) (i32.const 8)))
        (br $qloop))))

  ;; Zeros at $dst[i] for i in [$from, $to): a row of padding or the few at a row's ends (loops, four at a time then
  ;; one by one: memory.fill is a call out of the module, which costs more than these stores).
  (func $zeros (param $dst i32) (param $from i32) (param $to i32)
    (block $vdone
      (loop $vnext
        (br_if $vdone (i32.gt_s (i32.add (local.get $from) (i32.const 4)) (local.get $to)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $from) (i32.const 2))) (v128.const i32x4 0 0 0 0))
        (local.set $from (i32.add (local.get $from) (i32.const 4)))
        (br $vnext)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $from) (local.get $to)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $from) (i32.const 2))) (f32.const 0))
        (local.set $from (i32.add (local.get $from) (i32.const 1)))
        (br $next))))

  ;; Row $dst[m] = $src[s + m] for 0 <= s + m < $W, else 0, m < $len: a row shifted by $s, zeros past its ends.
  (func $shiftedRow (param $src i32) (param $W i32) (param $s i32) (param $dst i32) (param $len i32)
    (local $lo i32) (local $hi i32) (local $m i32)
    ;; lo = -s when s < 0, hi = W - s, both clamped to [0, len]
    (local.set $lo (select (i32.sub (i32.const 0) (local.get $s)) (i32.const 0) (i32.lt_s (local.get $s) (i32.const 0))))
    (if (i32.gt_s (local.get $lo) (local.get $len)) (then (local.set $lo (local.get $len))))
    (local.set $hi (i32.sub (local.get $W) (local.get $s)))
    (if (i32.gt_s (local.get $hi) (local.get $len)) (then (local.set $hi (local.get $len))))
    (if (i32.lt_s (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
    (call $zeros (local.get $dst) (i32.const 0) (local.get $lo))
    (local.set $src (i32.add (local.get $src) (i32.shl (local.get $s) (i32.const 2))))
    (local.set $m (local.get $lo))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $m) (i32.const 4)) (local.get $hi)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $m) (i32.const 2))) (v128.load (i32.add (local.get $src) (i32.shl (local.get $m) (i32.const 2)))))
        (local.set $m (i32.add (local.get $m) (i32.const 4)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_s (local.get $m) (local.get $hi)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $m) (i32.const 2))) (f32.load (i32.add (local.get $src) (i32.shl (local.get $m) (i32.const 2)))))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $sloop)))
    (call $zeros (local.get $dst) (local.get $hi) (local.get $len)))

  ;; One filter's plane of a copy of dy whose rows are as long as dy's ($OW floats), shifted by $s >= 0: $Hd rows at
  ;; $dst, row r = dy row r - $Ty shifted (dst[m] = src[s + m] for s + m < OW, else 0), zeros outside dy's $OH rows at
  ;; $src: what $shiftedRow makes row by row, made as one block. Row by row the copy cost more than the phases' sums for
  ;; a 1x1 filter (about 3 calls and their branches per row of 14 floats); as a block it is one run of vector copies,
  ;; the floats that crossed a row's end zeroed after it. (The phases' copies as long as dy's rows shift by 0 or 1:
  ;; a shift below 0 comes with 3 taps of parity 0 at pad 0, whose copies are one float longer.)
  (func $shiftedPlane (param $src i32) (param $OH i32) (param $OW i32) (param $s i32) (param $Ty i32) (param $Hd i32) (param $dst i32)
    (local $rows i32) (local $n i32) (local $i i32) (local $hi i32) (local $r i32) (local $row i32)
    ;; dy's rows that land in the copy, and its floats there
    (local.set $rows (i32.sub (local.get $Hd) (local.get $Ty)))
    (if (i32.gt_s (local.get $rows) (local.get $OH)) (then (local.set $rows (local.get $OH))))
    (if (i32.lt_s (local.get $rows) (i32.const 0)) (then (local.set $rows (i32.const 0))))
    (local.set $n (i32.mul (local.get $rows) (local.get $OW)))
    (call $zeros (local.get $dst) (i32.const 0) (i32.mul (local.get $Ty) (local.get $OW)))
    (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $Ty) (local.get $OW)) (i32.const 2))))
    ;; dst[i] = src[i + s] for i + s < OH*OW; the rest of [0, n) is zeroed by the row ends below
    (local.set $hi (i32.sub (i32.mul (local.get $OH) (local.get $OW)) (local.get $s)))
    (if (i32.gt_s (local.get $hi) (local.get $n)) (then (local.set $hi (local.get $n))))
    (local.set $src (i32.add (local.get $src) (i32.shl (local.get $s) (i32.const 2))))
    (local.set $i (i32.const 0))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))) (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_s (local.get $i) (local.get $hi)))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))) (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sloop)))
    ;; per row, zeros where s + m >= OW (inline, not by $zeros: one float a row, where a call per row cost as much as the
    ;; block's copy)
    (local.set $hi (i32.sub (local.get $OW) (local.get $s)))
    (if (i32.lt_s (local.get $hi) (i32.const 0)) (then (local.set $hi (i32.const 0))))
    (local.set $row (local.get $dst))
    (local.set $r (i32.const 0))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $i (local.get $hi))
        (block $hdone
          (loop $hloop
            (br_if $hdone (i32.ge_s (local.get $i) (local.get $OW)))
            (f32.store (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2))) (f32.const 0))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $hloop)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $OW) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop)))
    ;; the rows under dy's
    (call $zeros (local.get $dst) (local.get $n) (i32.mul (i32.sub (local.get $Hd) (local.get $Ty)) (local.get $OW))))

  ;; The input gradient of images [n0, n1) (stride 2): dx [N, C, H, W] at $dx from dy [N, FN, OH, OW] at $dy. Each of dx's
  ;; four phases, (ey, ex) = (iy mod 2, ix mod 2), is a stride-1 convolution of dy with the filter taps of that parity
  ;; (stride2.ts builds their tables and packed weights), so no col is made nor scattered. Per image: copies of dy, each
  ;; padded by Ty zero rows above (Hd rows in all) and shifted by s columns, cols(ex) = ceil((W - ex) / 2) floats a row,
  ;; one per shift and width the phases' column taps need, so that a tap reads a phase's pixels (i, m) at i*cols + m
  ;; ($flatConv); per phase $flatConv into its flat [C, Q]; then dx's rows interleaved from the two phases of their parity.
  ;; $desc (i32): per phase e = ey*2 + ex at 16e: its taps K (0: the phase is zero), kTab (offsets from the slot), packed
  ;; weights, Q; at 64 + 4e its flat output's offset in the slot; at 80 the slot's bytes (slot n0 of $scratch is used);
  ;; at 84 the number of dy copies, and from 88 three i32 per copy: its offset in the slot, s, and its row length.
  (func $stride2Dx (export "stride2Dx")
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $FN i32) (param $OH i32) (param $OW i32) (param $C i32)
    (param $H i32) (param $W i32) (param $Hd i32) (param $Ty i32) (param $desc i32) (param $dx i32) (param $scratch i32)
    (local $slot i32) (local $n i32) (local $f i32) (local $r i32) (local $e i32) (local $d i32) (local $c i32) (local $j i32)
    (local $iy i32) (local $m i32) (local $src0 i32) (local $src1 i32) (local $dst i32) (local $ix i32) (local $len i32) (local $oy i32)
    (local $v0 v128) (local $v1 v128)
    (local.set $slot (i32.add (local.get $scratch) (i32.mul (local.get $n0) (i32.load offset=80 (local.get $desc)))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        ;; the copies of dy_n: copy j, row r of filter f = dy[n, f, r - Ty, s + m], zeros outside dy
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (i32.load offset=84 (local.get $desc))))
            (local.set $d (i32.add (local.get $desc) (i32.mul (local.get $j) (i32.const 12))))
            (local.set $len (i32.load offset=96 (local.get $d)))
            (local.set $dst (i32.add (local.get $slot) (i32.load offset=88 (local.get $d))))
            (local.set $f (i32.const 0))
            (block $fdone
              (loop $floop
                (br_if $fdone (i32.ge_u (local.get $f) (local.get $FN)))
                ;; rows as long as dy's, shifted by s >= 0: the plane as one block
                (if (i32.and (i32.eq (local.get $len) (local.get $OW)) (i32.ge_s (i32.load offset=92 (local.get $d)) (i32.const 0)))
                  (then
                    (call $shiftedPlane
                      (i32.add (local.get $dy) (i32.shl (i32.mul (i32.add (i32.mul (local.get $n) (local.get $FN)) (local.get $f)) (i32.mul (local.get $OH) (local.get $OW))) (i32.const 2)))
                      (local.get $OH) (local.get $OW) (i32.load offset=92 (local.get $d)) (local.get $Ty) (local.get $Hd) (local.get $dst))
                    (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $Hd) (local.get $len)) (i32.const 2))))
                    (local.set $f (i32.add (local.get $f) (i32.const 1)))
                    (br $floop)))
                (local.set $r (i32.const 0))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_u (local.get $r) (local.get $Hd)))
                    (local.set $oy (i32.sub (local.get $r) (local.get $Ty)))
                    (if (i32.or (i32.lt_s (local.get $oy) (i32.const 0)) (i32.ge_s (local.get $oy) (local.get $OH)))
                      (then (call $zeros (local.get $dst) (i32.const 0) (local.get $len)))
                      (else
                        (call $shiftedRow
                          (i32.add (local.get $dy) (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $FN)) (local.get $f)) (local.get $OH)) (local.get $oy)) (local.get $OW)) (i32.const 2)))
                          (local.get $OW) (i32.load offset=92 (local.get $d)) (local.get $dst) (local.get $len))))
                    (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $len) (i32.const 2))))
                    (local.set $r (i32.add (local.get $r) (i32.const 1)))
                    (br $rloop)))
                (local.set $f (i32.add (local.get $f) (i32.const 1)))
                (br $floop)))
            ;; and zeros in the 16 floats after it, which the phases' last tiles read (products no one keeps: left as they
            ;; were, a float there that is subnormal makes every product with it take a slow microcode path)
            (call $zeros (local.get $dst) (i32.const 0) (i32.const 16))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
        ;; the four phases (a phase without taps is zeros: written at the chunk's first image, which leaves them in the slot)
        (local.set $e (i32.const 0))
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $e) (i32.const 4)))
            (local.set $d (i32.add (local.get $desc) (i32.shl (local.get $e) (i32.const 4))))
            (if (i32.or (i32.ne (i32.load (local.get $d)) (i32.const 0)) (i32.eq (local.get $n) (local.get $n0)))
              (then (call $flatConv (local.get $slot) (i32.load offset=4 (local.get $d)) (i32.load (local.get $d)) (i32.load offset=8 (local.get $d))
              (local.get $C) (i32.load offset=12 (local.get $d))
              (i32.add (local.get $slot) (i32.load offset=64 (i32.add (local.get $desc) (i32.shl (local.get $e) (i32.const 2)))))
              (i32.load offset=12 (local.get $d)))))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))
            (br $eloop)))
        ;; dx[n, c, iy, 2m + ex] = phase (iy mod 2, ex) at [c, (iy/2)*cols(ex) + m]: four of each phase interleaved per
        ;; two shuffles
        (local.set $dst (i32.add (local.get $dx) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $iy (i32.const 0))
            (block $rdone2
              (loop $rloop2
                (br_if $rdone2 (i32.ge_u (local.get $iy) (local.get $H)))
                ;; d: phase (iy mod 2, 0)'s descriptor
                (local.set $d (i32.add (local.get $desc) (i32.shl (i32.and (local.get $iy) (i32.const 1)) (i32.const 5))))
                (local.set $src0 (i32.add (local.get $slot) (i32.add
                  (i32.load offset=64 (i32.add (local.get $desc) (i32.shl (i32.and (local.get $iy) (i32.const 1)) (i32.const 3))))
                  (i32.shl (i32.add (i32.mul (local.get $c) (i32.load offset=12 (local.get $d)))
                    (i32.mul (i32.shr_u (local.get $iy) (i32.const 1)) (i32.shr_u (i32.add (local.get $W) (i32.const 1)) (i32.const 1)))) (i32.const 2)))))
                (local.set $src1 (i32.add (local.get $slot) (i32.add
                  (i32.load offset=68 (i32.add (local.get $desc) (i32.shl (i32.and (local.get $iy) (i32.const 1)) (i32.const 3))))
                  (i32.shl (i32.add (i32.mul (local.get $c) (i32.load offset=28 (local.get $d)))
                    (i32.mul (i32.shr_u (local.get $iy) (i32.const 1)) (i32.shr_u (local.get $W) (i32.const 1)))) (i32.const 2)))))
                (local.set $m (i32.const 0))
                (block $vdone
                  (loop $vloop
                    (br_if $vdone (i32.gt_u (i32.add (i32.shl (local.get $m) (i32.const 1)) (i32.const 8)) (local.get $W)))
                    (local.set $v0 (v128.load (i32.add (local.get $src0) (i32.shl (local.get $m) (i32.const 2)))))
                    (local.set $v1 (v128.load (i32.add (local.get $src1) (i32.shl (local.get $m) (i32.const 2)))))
                    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $m) (i32.const 3)))
                      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
                    (v128.store offset=16 (i32.add (local.get $dst) (i32.shl (local.get $m) (i32.const 3)))
                      (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
                    (local.set $m (i32.add (local.get $m) (i32.const 4)))
                    (br $vloop)))
                ;; then two of each
                (if (i32.le_u (i32.add (i32.shl (local.get $m) (i32.const 1)) (i32.const 4)) (local.get $W))
                  (then
                    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $m) (i32.const 3)))
                      (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
                        (v128.load64_zero (i32.add (local.get $src0) (i32.shl (local.get $m) (i32.const 2))))
                        (v128.load64_zero (i32.add (local.get $src1) (i32.shl (local.get $m) (i32.const 2))))))
                    (local.set $m (i32.add (local.get $m) (i32.const 2)))))
                (local.set $ix (i32.shl (local.get $m) (i32.const 1)))
                (block $sdone
                  (loop $sloop
                    (br_if $sdone (i32.ge_u (local.get $ix) (local.get $W)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $ix) (i32.const 2)))
                      (f32.load (i32.add (select (local.get $src1) (local.get $src0) (i32.and (local.get $ix) (i32.const 1)))
                        (i32.shl (i32.shr_u (local.get $ix) (i32.const 1)) (i32.const 2)))))
                    (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
                    (br $sloop)))
                (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $W) (i32.const 2))))
                (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
                (br $rloop2)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $images))))

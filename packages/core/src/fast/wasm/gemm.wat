;; foldnet fast GEMM: C[m, n] (+)= sum_k A[m, k] * B[k, n] in float32, WebAssembly fixed-width SIMD.
;;
;; Layout (all pointers are byte offsets into the one imported, shared memory; lengths in elements):
;; - A is read in place through two strides, so every transpose combination needs no copy of A:
;;   A[i, k] = f32 at a + 4*(i*rsA + k*csA)   (row-major: rsA = K, csA = 1; transposed: rsA = 1, csA = M)
;; - B is packed once per call by $packB into micro-panels of NR = 8 columns, zero-padded on the right:
;;   Bp[q][k][0..8] = B[k, 8q .. 8q+7]          (panel q starts at bp + 4*8*q*K)
;; - C is row-major with a leading dimension ldc >= N. Whole 8-wide tiles are stored as two vectors; the
;;   ragged last panel (N mod 8 columns) is stored lane by lane by $storeEdge, so C needs no padding.
;;
;; The micro-kernel keeps a 4 x 8 tile of C in eight v128 accumulators (4 rows x 2 vectors), and per k does
;; 4 broadcast loads of A, 2 vector loads of B and 8 multiply-adds: 11 live vectors, which fit the 16 xmm
;; registers V8 has on x64 (one is its scratch). When the tile's four A[r, k] sit side by side (a transposed A),
;; one pointer with constant offsets reaches them: V8 then emits 29 instructions per k instead of 35 (each of four
;; pointers costs an add and a zero-extending move). Unrolling k does not pay: TurboFan hoists the unrolled loads to
;; the loop's top and spills (0.82x). Other tiles measured no better: 2 x 16 over a pair of panels (Winograd's
;; product kernel's tile: 4 vector loads of B for 2 broadcasts) ran 0.97x-1.03x here, the loads of B twice as many a
;; product; 5 x 8, 3 x 16 and 6 x 8 spill (0.6x-0.75x on L1-resident operands). One call of $micro walks a whole
;; column of tiles down a panel, so a short sum (K = 16..64) pays no call per tile (1.05x-1.15x on the presets'
;; GEMM shapes, long sums too). The loops around it block K by KC = 256 (one B micro-panel,
;; 256*8*4 = 8 KiB, stays in L1 while the kernel walks down the rows) and M by MC = 128 rows (a 128 x 256 block
;; of A, 128 KiB, stays in L2 while the kernel walks across the panels; 64 rows measured the same).

  ;; B[k, j] = f32 at b + 4*(k*rsB + j*csB), k < K, j < N  ->  Bp (see above).
  (func $packB (export "packB")
    (param $b i32) (param $rsB i32) (param $csB i32) (param $K i32) (param $N i32) (param $bp i32)
    (local $q i32) (local $nq i32) (local $k i32) (local $j0 i32) (local $c i32) (local $dst i32)
    (local $src i32) (local $rs4 i32) (local $cs4 i32)
    (local.set $nq (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))
    (local.set $rs4 (i32.shl (local.get $rsB) (i32.const 2)))
    (local.set $cs4 (i32.shl (local.get $csB) (i32.const 2)))
    (local.set $dst (local.get $bp))
    (local.set $q (i32.const 0))
    (block $qdone
      (loop $qloop
        (br_if $qdone (i32.ge_u (local.get $q) (local.get $nq)))
        (local.set $j0 (i32.shl (local.get $q) (i32.const 3)))
        (if (i32.and (i32.eq (local.get $csB) (i32.const 1))
                     (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $N)))
          (then
            ;; a full panel of a row-major B: two vector copies per k
            (local.set $src (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2))))
            (local.set $k (i32.const 0))
            (block $kdone
              (loop $kloop
                (br_if $kdone (i32.ge_u (local.get $k) (local.get $K)))
                (v128.store (local.get $dst) (v128.load (local.get $src)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $src)))
                (local.set $src (i32.add (local.get $src) (local.get $rs4)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kloop))))
          (else
            (local.set $k (i32.const 0))
            ;; a full panel of a transposed B (rsB = 1: column j of B is contiguous): four k at a time, the panel's
            ;; 8 columns loaded as vectors and transposed 4 x 4 in registers (as $rowsToNchw does), 8 stores
            (if (i32.and (i32.eq (local.get $rsB) (i32.const 1))
                         (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $N)))
              (then
                (local.set $src (i32.add (local.get $b) (i32.mul (local.get $j0) (local.get $cs4))))
                (block $tdone
                  (loop $tloop
                    (br_if $tdone (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $K)))
                    (call $transpose4 (local.get $src) (local.get $cs4) (local.get $dst) (i32.const 32))
                    (call $transpose4 (i32.add (local.get $src) (i32.shl (local.get $cs4) (i32.const 2))) (local.get $cs4) (i32.add (local.get $dst) (i32.const 16)) (i32.const 32))
                    (local.set $src (i32.add (local.get $src) (i32.const 16)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
                    (local.set $k (i32.add (local.get $k) (i32.const 4)))
                    (br $tloop)))))
            ;; a transposed B's last k, or the ragged last panel: element by element, zeros past column N
            (block $kdone2
              (loop $kloop2
                (br_if $kdone2 (i32.ge_u (local.get $k) (local.get $K)))
                (local.set $c (i32.const 0))
                (local.set $src (i32.add (local.get $b)
                  (i32.add (i32.mul (local.get $k) (local.get $rs4)) (i32.mul (local.get $j0) (local.get $cs4)))))
                (block $cdone
                  (loop $cloop
                    (br_if $cdone (i32.ge_u (local.get $c) (i32.const 8)))
                    (if (i32.lt_u (i32.add (local.get $j0) (local.get $c)) (local.get $N))
                      (then (f32.store (local.get $dst) (f32.load (local.get $src))))
                      (else (f32.store (local.get $dst) (f32.const 0))))
                    (local.set $src (i32.add (local.get $src) (local.get $cs4)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $c (i32.add (local.get $c) (i32.const 1)))
                    (br $cloop)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kloop2)))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $qloop))))

  ;; Four rows of 4 floats at src, src + stride, src + 2 stride, src + 3 stride (bytes) -> their transpose, as four rows
  ;; of 4 floats $dstStride bytes apart at dst (packB: 32, half of each of four rows of a packed B panel).
  (func $transpose4 (param $src i32) (param $stride i32) (param $dst i32) (param $dstStride i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local.set $r0 (v128.load (local.get $src)))
    (local.set $r1 (v128.load (i32.add (local.get $src) (local.get $stride))))
    (local.set $r2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $stride) (i32.const 1)))))
    (local.set $r3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $stride) (i32.const 3)))))
    (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $u1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $u2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u2)))
    (v128.store (i32.add (local.get $dst) (local.get $dstStride)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u2)))
    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $dstStride) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u1) (local.get $u3)))
    (v128.store (i32.add (local.get $dst) (i32.mul (local.get $dstStride) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u1) (local.get $u3))))

  ;; dst [C, R] = the transpose of src [R, C] (row-major floats), so that a GEMM reads a row-major A as the four rows
  ;; of a tile side by side (see $micro). 4 x 4 blocks by $transpose4; the edges one by one.
  (func $transpose (export "transpose") (param $src i32) (param $R i32) (param $C i32) (param $dst i32)
    (local $r i32) (local $c i32) (local $R4 i32) (local $C4 i32) (local $i i32)
    ;; bytes between rows of src and of dst
    (local $C4b i32) (local $R4b i32)
    (local.set $R4 (i32.and (local.get $R) (i32.const -4)))
    (local.set $C4 (i32.and (local.get $C) (i32.const -4)))
    (local.set $C4b (i32.shl (local.get $C) (i32.const 2)))
    (local.set $R4b (i32.shl (local.get $R) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $R4)))
        (local.set $c (i32.const 0))
        (block $cdone
          (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C4)))
            (call $transpose4
              (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $C)) (local.get $c)) (i32.const 2))) (local.get $C4b)
              (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (local.get $r)) (i32.const 2))) (local.get $R4b))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cloop)))
        ;; the last C mod 4 columns of these four rows
        (block $edone
          (loop $eloop
            (br_if $edone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $i (i32.const 0))
            (block $idone
              (loop $iloop
                (br_if $idone (i32.ge_u (local.get $i) (i32.const 4)))
                (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (i32.add (local.get $r) (local.get $i))) (i32.const 2)))
                  (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $r) (local.get $i)) (local.get $C)) (local.get $c)) (i32.const 2)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $iloop)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $eloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rloop)))
    ;; the last R mod 4 rows
    (block $ldone
      (loop $lloop
        (br_if $ldone (i32.ge_u (local.get $r) (local.get $R)))
        (local.set $c (i32.const 0))
        (block $lcdone
          (loop $lcloop
            (br_if $lcdone (i32.ge_u (local.get $c) (local.get $C)))
            (f32.store (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (local.get $r)) (i32.const 2)))
              (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $C)) (local.get $c)) (i32.const 2)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $lcloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $lloop))))

  ;; Stores the first nr < 8 columns of one row of a tile, (v0 | v1) = columns 0..3 | 4..7; $load adds C's values.
  (func $storeEdge (param $pc i32) (param $v0 v128) (param $v1 v128) (param $nr i32) (param $load i32)
    (if (local.get $load)
      (then
        (local.set $v0 (f32x4.add (local.get $v0) (f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1
          (f32x4.splat (f32.load (local.get $pc)))
          (if (result f32) (i32.gt_u (local.get $nr) (i32.const 1)) (then (f32.load offset=4 (local.get $pc))) (else (f32.const 0))))
          (if (result f32) (i32.gt_u (local.get $nr) (i32.const 2)) (then (f32.load offset=8 (local.get $pc))) (else (f32.const 0))))
          (if (result f32) (i32.gt_u (local.get $nr) (i32.const 3)) (then (f32.load offset=12 (local.get $pc))) (else (f32.const 0))))))
        (if (i32.gt_u (local.get $nr) (i32.const 4))
          (then
            (local.set $v1 (f32x4.add (local.get $v1) (f32x4.replace_lane 2 (f32x4.replace_lane 1
              (f32x4.splat (f32.load offset=16 (local.get $pc)))
              (if (result f32) (i32.gt_u (local.get $nr) (i32.const 5)) (then (f32.load offset=20 (local.get $pc))) (else (f32.const 0))))
              (if (result f32) (i32.gt_u (local.get $nr) (i32.const 6)) (then (f32.load offset=24 (local.get $pc))) (else (f32.const 0))))))))))
    (f32.store (local.get $pc) (f32x4.extract_lane 0 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 1)))
    (f32.store offset=4 (local.get $pc) (f32x4.extract_lane 1 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 2)))
    (f32.store offset=8 (local.get $pc) (f32x4.extract_lane 2 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 3)))
    (f32.store offset=12 (local.get $pc) (f32x4.extract_lane 3 (local.get $v0)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 4)))
    (f32.store offset=16 (local.get $pc) (f32x4.extract_lane 0 (local.get $v1)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 5)))
    (f32.store offset=20 (local.get $pc) (f32x4.extract_lane 1 (local.get $v1)))
    (br_if 0 (i32.le_u (local.get $nr) (i32.const 6)))
    (f32.store offset=24 (local.get $pc) (f32x4.extract_lane 2 (local.get $v1))))

;; $tiles 4 x 8 tiles down one panel of Bp: C[r, 0..nr] (+)= sum_{k < kc} A_r[k] * Bp[k, 0..nr] for r < mr, nr <= 8
  ;; (rows past mr are computed from a duplicated row pointer and dropped; mr < 4 only with one tile). $load = 1 adds to
  ;; what C holds, 0 overwrites it. A_r[k] is at pa_r + k*sa, or, when $pk is not 0, at pa_r + $pk[k] (byte offsets).
  ;; The first tile's rows start at $pa0..$pa3 and its C at $pc; each next tile's 4*ldc4 bytes further down C, and its
  ;; rows at a + $rowTab[r] for the next four entries of the table (indexed A: $rowTab points at the first tile's),
  ;; else $tileStep bytes past the tile before. One call takes a whole column of tiles, so that a short sum
  ;; (K = 16..64: 1x1 convolutions, input gradients) pays no call per tile.
  (func $micro
    (param $kc i32) (param $pa0 i32) (param $pa1 i32) (param $pa2 i32) (param $pa3 i32) (param $sa i32)
    (param $pb i32) (param $pc i32) (param $ldc4 i32) (param $mr i32) (param $nr i32) (param $load i32) (param $pk i32)
    (param $tiles i32) (param $tileStep i32) (param $base i32) (param $rowTab i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $end i32) (local $o i32)
    ;; the k loops' cursors: B's ($p), the offset table's ($pkr), the rows' ($q0..$q3); the C row being stored ($pcr)
    (local $p i32) (local $pkr i32) (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32) (local $pcr i32)
    (local.set $end (i32.add (local.get $pb) (i32.shl (local.get $kc) (i32.const 5))))
    (loop $tile
      (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
      (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
      (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
      (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
      (local.set $p (local.get $pb))
      (if (local.get $pk)
        (then
          ;; indexed A: A_r[k] at pa_r + the byte offset read from $pk[k] (an implicit im2col)
          (local.set $pkr (local.get $pk))
          (block $idone
            (loop $ik
              (br_if $idone (i32.ge_u (local.get $p) (local.get $end)))
              (local.set $o (i32.load (local.get $pkr)))
              (local.set $b0 (v128.load (local.get $p)))
              (local.set $b1 (v128.load offset=16 (local.get $p)))
              (local.set $a (v128.load32_splat (i32.add (local.get $pa0) (local.get $o))))
              (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
              (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
              (local.set $a (v128.load32_splat (i32.add (local.get $pa1) (local.get $o))))
              (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
              (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
              (local.set $a (v128.load32_splat (i32.add (local.get $pa2) (local.get $o))))
              (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
              (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
              (local.set $a (v128.load32_splat (i32.add (local.get $pa3) (local.get $o))))
              (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
              (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
              (local.set $pkr (i32.add (local.get $pkr) (i32.const 4)))
              (local.set $p (i32.add (local.get $p) (i32.const 32)))
              (br $ik))))
        (else
          (if (i32.and (i32.eq (local.get $pa1) (i32.add (local.get $pa0) (i32.const 4)))
                (i32.and (i32.eq (local.get $pa2) (i32.add (local.get $pa0) (i32.const 8))) (i32.eq (local.get $pa3) (i32.add (local.get $pa0) (i32.const 12)))))
            (then
              ;; the four rows' A[r, k] side by side (A transposed, or packed by rows of four): one pointer and
              ;; constant offsets instead of four pointers (six fewer instructions per k as V8 compiles it)
              (local.set $q0 (local.get $pa0))
              (block $qdone
                (loop $qk
                  (br_if $qdone (i32.ge_u (local.get $p) (local.get $end)))
                  (local.set $b0 (v128.load (local.get $p)))
                  (local.set $b1 (v128.load offset=16 (local.get $p)))
                  (local.set $a (v128.load32_splat offset=0 (local.get $q0)))
                  (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat offset=4 (local.get $q0)))
                  (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat offset=8 (local.get $q0)))
                  (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat offset=12 (local.get $q0)))
                  (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $q0 (i32.add (local.get $q0) (local.get $sa)))
                  (local.set $p (i32.add (local.get $p) (i32.const 32)))
                  (br $qk))))
            (else
              (local.set $q0 (local.get $pa0)) (local.set $q1 (local.get $pa1))
              (local.set $q2 (local.get $pa2)) (local.set $q3 (local.get $pa3))
              (block $done
                (loop $k
                  (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
                  (local.set $b0 (v128.load (local.get $p)))
                  (local.set $b1 (v128.load offset=16 (local.get $p)))
                  (local.set $a (v128.load32_splat (local.get $q0)))
                  (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat (local.get $q1)))
                  (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat (local.get $q2)))
                  (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat (local.get $q3)))
                  (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $q0 (i32.add (local.get $q0) (local.get $sa)))
                  (local.set $q1 (i32.add (local.get $q1) (local.get $sa)))
                  (local.set $q2 (i32.add (local.get $q2) (local.get $sa)))
                  (local.set $q3 (i32.add (local.get $q3) (local.get $sa)))
                  (local.set $p (i32.add (local.get $p) (i32.const 32)))
                  (br $k)))))))
      (local.set $pcr (local.get $pc))
      (block $stored
        (if (i32.lt_u (local.get $nr) (i32.const 8))
          (then
            (call $storeEdge (local.get $pcr) (local.get $c00) (local.get $c01) (local.get $nr) (local.get $load))
            (br_if $stored (i32.le_u (local.get $mr) (i32.const 1)))
            (local.set $pcr (i32.add (local.get $pcr) (local.get $ldc4)))
            (call $storeEdge (local.get $pcr) (local.get $c10) (local.get $c11) (local.get $nr) (local.get $load))
            (br_if $stored (i32.le_u (local.get $mr) (i32.const 2)))
            (local.set $pcr (i32.add (local.get $pcr) (local.get $ldc4)))
            (call $storeEdge (local.get $pcr) (local.get $c20) (local.get $c21) (local.get $nr) (local.get $load))
            (br_if $stored (i32.le_u (local.get $mr) (i32.const 3)))
            (local.set $pcr (i32.add (local.get $pcr) (local.get $ldc4)))
            (call $storeEdge (local.get $pcr) (local.get $c30) (local.get $c31) (local.get $nr) (local.get $load))
            (br $stored)))
        (if (local.get $load)
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $pcr))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $pcr))))))
        (v128.store (local.get $pcr) (local.get $c00))
        (v128.store offset=16 (local.get $pcr) (local.get $c01))
        (br_if $stored (i32.le_u (local.get $mr) (i32.const 1)))
        (local.set $pcr (i32.add (local.get $pcr) (local.get $ldc4)))
        (if (local.get $load)
          (then
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $pcr))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $pcr))))))
        (v128.store (local.get $pcr) (local.get $c10))
        (v128.store offset=16 (local.get $pcr) (local.get $c11))
        (br_if $stored (i32.le_u (local.get $mr) (i32.const 2)))
        (local.set $pcr (i32.add (local.get $pcr) (local.get $ldc4)))
        (if (local.get $load)
          (then
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $pcr))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $pcr))))))
        (v128.store (local.get $pcr) (local.get $c20))
        (v128.store offset=16 (local.get $pcr) (local.get $c21))
        (br_if $stored (i32.le_u (local.get $mr) (i32.const 3)))
        (local.set $pcr (i32.add (local.get $pcr) (local.get $ldc4)))
        (if (local.get $load)
          (then
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $pcr))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $pcr))))))
        (v128.store (local.get $pcr) (local.get $c30))
        (v128.store offset=16 (local.get $pcr) (local.get $c31))
      )
      (local.set $tiles (i32.sub (local.get $tiles) (i32.const 1)))
      (if (local.get $tiles)
        (then
          (local.set $pc (i32.add (local.get $pc) (i32.shl (local.get $ldc4) (i32.const 2))))
          (if (local.get $rowTab)
            (then
              (local.set $rowTab (i32.add (local.get $rowTab) (i32.const 16)))
              (local.set $pa0 (i32.add (local.get $base) (i32.load (local.get $rowTab))))
              (local.set $pa1 (i32.add (local.get $base) (i32.load offset=4 (local.get $rowTab))))
              (local.set $pa2 (i32.add (local.get $base) (i32.load offset=8 (local.get $rowTab))))
              (local.set $pa3 (i32.add (local.get $base) (i32.load offset=12 (local.get $rowTab)))))
            (else
              (local.set $pa0 (i32.add (local.get $pa0) (local.get $tileStep)))
              (local.set $pa1 (i32.add (local.get $pa1) (local.get $tileStep)))
              (local.set $pa2 (i32.add (local.get $pa2) (local.get $tileStep)))
              (local.set $pa3 (i32.add (local.get $pa3) (local.get $tileStep)))))
          (br $tile)))))

  ;; Rows [m0, m1) of C = op(A) x B for a B already packed by $packB with the same K and N. A is strided
  ;; (rsA, csA) when $rowTab is 0; otherwise indexed: A[i, k] = f32 at a + rowTab[i] + kTab[k] (i32 tables of
  ;; byte offsets), which reads a convolution's im2col matrix straight from the image without building it.
  ;; $acc = 1 adds to C (a K split over several calls), 0 overwrites it.
  (func $gemmRows (export "gemmRows")
    (param $m0 i32) (param $m1 i32) (param $N i32) (param $K i32)
    (param $a i32) (param $rsA i32) (param $csA i32) (param $bp i32) (param $c i32) (param $ldc i32) (param $acc i32)
    (param $rowTab i32) (param $kTab i32)
    (local $pc i32) (local $kc i32) (local $ic i32) (local $iend i32) (local $q i32) (local $nq i32)
    (local $i i32) (local $mr i32) (local $nr i32) (local $pbq i32) (local $sa i32) (local $rs4 i32) (local $ldc4 i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $load i32) (local $tiles i32)
    (local.set $nq (i32.shr_u (i32.add (local.get $N) (i32.const 7)) (i32.const 3)))
    (local.set $sa (i32.shl (local.get $csA) (i32.const 2)))
    (local.set $rs4 (i32.shl (local.get $rsA) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $pc (i32.const 0))
    (block $pdone
      (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $pc) (local.get $K)))
        (local.set $kc (i32.sub (local.get $K) (local.get $pc)))
        (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
        (local.set $load (i32.or (local.get $acc) (i32.ne (local.get $pc) (i32.const 0))))
        (local.set $ic (local.get $m0))
        (block $idone
          (loop $iloop
            (br_if $idone (i32.ge_u (local.get $ic) (local.get $m1)))
            (local.set $iend (i32.add (local.get $ic) (i32.const 128)))
            (if (i32.gt_u (local.get $iend) (local.get $m1)) (then (local.set $iend (local.get $m1))))
            (local.set $q (i32.const 0))
            (block $qdone
              (loop $qloop
                (br_if $qdone (i32.ge_u (local.get $q) (local.get $nq)))
                ;; panel q, rows pc.. of Bp
                (local.set $nr (i32.sub (local.get $N) (i32.shl (local.get $q) (i32.const 3))))
                (if (i32.gt_u (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
                (local.set $pbq (i32.add (local.get $bp)
                  (i32.shl (i32.add (i32.mul (local.get $q) (local.get $K)) (local.get $pc)) (i32.const 5))))
                (local.set $i (local.get $ic))
                (block $rdone
                  (loop $rloop
                    (br_if $rdone (i32.ge_u (local.get $i) (local.get $iend)))
                    ;; the whole tiles left in this row block in one call, or the last rows (fewer than 4) alone
                    (local.set $mr (i32.sub (local.get $iend) (local.get $i)))
                    (local.set $tiles (select (i32.shr_u (local.get $mr) (i32.const 2)) (i32.const 1) (i32.ge_u (local.get $mr) (i32.const 4))))
                    (if (i32.gt_u (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
                    (if (local.get $rowTab)
                      (then
                        ;; indexed A: A_r starts at a + rowTab[i + r] (bytes); missing rows repeat the last valid one
                        (local.set $pa0 (i32.add (local.get $a) (i32.load (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))))))
                        (local.set $pa1 (local.get $pa0))
                        (if (i32.gt_u (local.get $mr) (i32.const 1)) (then (local.set $pa1 (i32.add (local.get $a)
                          (i32.load offset=4 (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))))))))
                        (local.set $pa2 (local.get $pa1))
                        (if (i32.gt_u (local.get $mr) (i32.const 2)) (then (local.set $pa2 (i32.add (local.get $a)
                          (i32.load offset=8 (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))))))))
                        (local.set $pa3 (local.get $pa2))
                        (if (i32.gt_u (local.get $mr) (i32.const 3)) (then (local.set $pa3 (i32.add (local.get $a)
                          (i32.load offset=12 (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2)))))))))
                      (else
                        ;; A_r starts at a + 4*((i + r)*rsA + pc*csA); missing rows repeat the last valid one
                        (local.set $pa0 (i32.add (local.get $a)
                          (i32.add (i32.mul (local.get $i) (local.get $rs4)) (i32.mul (local.get $pc) (local.get $sa)))))
                        (local.set $pa1 (local.get $pa0))
                        (if (i32.gt_u (local.get $mr) (i32.const 1)) (then (local.set $pa1 (i32.add (local.get $pa0) (local.get $rs4)))))
                        (local.set $pa2 (local.get $pa1))
                        (if (i32.gt_u (local.get $mr) (i32.const 2)) (then (local.set $pa2 (i32.add (local.get $pa1) (local.get $rs4)))))
                        (local.set $pa3 (local.get $pa2))
                        (if (i32.gt_u (local.get $mr) (i32.const 3)) (then (local.set $pa3 (i32.add (local.get $pa2) (local.get $rs4)))))))
                    (call $micro (local.get $kc) (local.get $pa0) (local.get $pa1) (local.get $pa2) (local.get $pa3)
                      (local.get $sa) (local.get $pbq)
                      (i32.add (local.get $c)
                        (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $q) (i32.const 3))) (i32.const 2)))
                      (local.get $ldc4) (local.get $mr) (local.get $nr) (local.get $load)
                      (select (i32.add (local.get $kTab) (i32.shl (local.get $pc) (i32.const 2))) (i32.const 0) (local.get $rowTab))
                      (local.get $tiles) (i32.shl (local.get $rs4) (i32.const 2)) (local.get $a)
                      (select (i32.add (local.get $rowTab) (i32.shl (local.get $i) (i32.const 2))) (i32.const 0) (local.get $rowTab)))
                    (local.set $i (i32.add (local.get $i) (i32.shl (local.get $tiles) (i32.const 2))))
                    (br $rloop)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $qloop)))
            (local.set $ic (local.get $iend))
            (br $iloop)))
        (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
        (br $ploop))))

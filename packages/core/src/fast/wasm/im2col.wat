;; im2col and its adjoint col2im, over ranges of rows or images so that threads can split them.

  ;; im2col rows [r0, r1) (row r = (n, oy, ox) of the lesson's layout, n = r / (OH*OW)) of x [N, C, H, W] at $x into
  ;; col [N*OH*OW, C*FH*FW], columns (c, fy, fx), at dst (row 0's address: row r starts C*FH*FW floats further per
  ;; row). Padding is written as 0 (dst need not be cleared); per window row the filter columns fx in [lo, hi) lie
  ;; inside the image and are copied four at a time where they can be (the lesson's 5x5 filter: one vector and one
  ;; float). A row range, so threads can split one im2col (see threads.ts).
  (func $im2col (export "im2col")
    (param $r0 i32) (param $r1 i32) (param $x i32) (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32)
    (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $c i32) (local $fy i32) (local $fx i32)
    (local $iy0 i32) (local $ix0 i32) (local $iy i32) (local $lo i32) (local $hi i32) (local $src i32) (local $plane i32)
    (local $W4 i32) (local $FW4 i32) (local $r i32) (local $P i32) (local $p i32)
    (local.set $W4 (i32.shl (local.get $W) (i32.const 2)))
    (local.set $FW4 (i32.shl (local.get $FW) (i32.const 2)))
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $dst (i32.add (local.get $dst)
      (i32.shl (i32.mul (local.get $r0) (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW)))) (i32.const 2))))
    (local.set $r (local.get $r0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $n (i32.div_u (local.get $r) (local.get $P)))
      (local.set $p (i32.rem_u (local.get $r) (local.get $P)))
      (local.set $oy (i32.div_u (local.get $p) (local.get $OW)))
      (local.set $ox (i32.rem_u (local.get $p) (local.get $OW)))
      (local.set $iy0 (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $pad)))
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $pad)))
          ;; lo = max(0, -ix0), hi = min(FW, W - ix0)
          (local.set $lo (select (i32.sub (i32.const 0) (local.get $ix0)) (i32.const 0) (i32.lt_s (local.get $ix0) (i32.const 0))))
          (local.set $hi (select (i32.sub (local.get $W) (local.get $ix0)) (local.get $FW)
            (i32.gt_s (i32.add (local.get $ix0) (local.get $FW)) (local.get $W))))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $plane (i32.mul (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $H)))
            (local.set $fy (i32.const 0))
            (block $fdone (loop $floop
              (br_if $fdone (i32.ge_u (local.get $fy) (local.get $FH)))
              (local.set $iy (i32.add (local.get $iy0) (local.get $fy)))
              (if (i32.or (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $H)))
                          (i32.le_s (local.get $hi) (local.get $lo)))
                (then
                  (local.set $fx (i32.const 0))
                  (block $zdone (loop $zloop
                    (br_if $zdone (i32.ge_u (local.get $fx) (local.get $FW)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2))) (f32.const 0))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $zloop))))
                (else
                  ;; src: element (plane + iy) * W + ix0 (fx = 0), possibly outside the image for fx < lo
                  (local.set $src (i32.add (local.get $x) (i32.shl
                    (i32.add (i32.mul (i32.add (local.get $plane) (local.get $iy)) (local.get $W)) (local.get $ix0)) (i32.const 2))))
                  (local.set $fx (i32.const 0))
                  (block $ldone (loop $lloop
                    (br_if $ldone (i32.ge_s (local.get $fx) (local.get $lo)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2))) (f32.const 0))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $lloop)))
                  (block $vdone (loop $vloop
                    (br_if $vdone (i32.gt_s (i32.add (local.get $fx) (i32.const 4)) (local.get $hi)))
                    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2)))
                      (v128.load (i32.add (local.get $src) (i32.shl (local.get $fx) (i32.const 2)))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 4)))
                    (br $vloop)))
                  (block $sdone (loop $sloop
                    (br_if $sdone (i32.ge_s (local.get $fx) (local.get $hi)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2)))
                      (f32.load (i32.add (local.get $src) (i32.shl (local.get $fx) (i32.const 2)))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $sloop)))
                  (block $hdone (loop $hloop
                    (br_if $hdone (i32.ge_s (local.get $fx) (local.get $FW)))
                    (f32.store (i32.add (local.get $dst) (i32.shl (local.get $fx) (i32.const 2))) (f32.const 0))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $hloop)))))
              (local.set $dst (i32.add (local.get $dst) (local.get $FW4)))
              (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
              (br $floop)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; col2im for images [n0, n1): dst [N, C, H, W] (those images' planes zeroed first) += the im2col-layout rows of
  ;; src (row r = (n, oy, ox), rows ld floats apart, row 0 at src), summing window overlaps in the order
  ;; (n, oy, ox, c, fy, fx). Each image's rows only touch that image, so threads can split by images.
  (func $col2im (export "col2im")
    (param $n0 i32) (param $n1 i32) (param $src i32) (param $ld i32) (param $C i32) (param $H i32) (param $W i32)
    (param $FH i32) (param $FW i32) (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $c i32) (local $fy i32) (local $fx i32)
    (local $iy0 i32) (local $ix0 i32) (local $iy i32) (local $lo i32) (local $hi i32) (local $s i32) (local $row i32)
    (local $o i32) (local $p i32) (local $end i32)
    ;; zero the planes of images n0..n1
    (local.set $p (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n0) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n1) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
    (memory.fill (local.get $p) (i32.const 0) (i32.sub (local.get $end) (local.get $p)))
    (local.set $row (i32.add (local.get $src)
      (i32.shl (i32.mul (i32.mul (local.get $n0) (i32.mul (local.get $OH) (local.get $OW))) (local.get $ld)) (i32.const 2))))
    (local.set $n (local.get $n0))
    (block $ndone (loop $nloop
      (br_if $ndone (i32.ge_u (local.get $n) (local.get $n1)))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $iy0 (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $pad)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xloop
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
          (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $pad)))
          (local.set $lo (select (i32.sub (i32.const 0) (local.get $ix0)) (i32.const 0) (i32.lt_s (local.get $ix0) (i32.const 0))))
          (local.set $hi (select (i32.sub (local.get $W) (local.get $ix0)) (local.get $FW)
            (i32.gt_s (i32.add (local.get $ix0) (local.get $FW)) (local.get $W))))
          (local.set $s (local.get $row))
          (local.set $c (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $fy (i32.const 0))
            (block $fdone (loop $floop
              (br_if $fdone (i32.ge_u (local.get $fy) (local.get $FH)))
              (local.set $iy (i32.add (local.get $iy0) (local.get $fy)))
              (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $H)))
                (then
                  ;; o: element ((n*C + c)*H + iy)*W + ix0 of dst, as a byte address
                  (local.set $o (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add
                    (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $H)) (local.get $iy)) (local.get $W)) (local.get $ix0)) (i32.const 2))))
                  (local.set $fx (local.get $lo))
                  (block $gdone (loop $gloop
                    (br_if $gdone (i32.ge_s (local.get $fx) (local.get $hi)))
                    (f32.store (i32.add (local.get $o) (i32.shl (local.get $fx) (i32.const 2)))
                      (f32.add (f32.load (i32.add (local.get $o) (i32.shl (local.get $fx) (i32.const 2))))
                               (f32.load (i32.add (local.get $s) (i32.shl (local.get $fx) (i32.const 2))))))
                    (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                    (br $gloop)))))
              (local.set $s (i32.add (local.get $s) (i32.shl (local.get $FW) (i32.const 2))))
              (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
              (br $floop)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cloop)))
          (local.set $row (i32.add (local.get $row) (i32.shl (local.get $ld) (i32.const 2))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xloop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yloop)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nloop))))

  ;; The input gradient of a convolution by a GEMM and col2im, image by image: for each image n of [n0, n1),
  ;; dcol_n [P, Kc] = dRows_n . W, dRows_n [P, FN] read in place as the transpose of dy_n [FN, P] (dy [N, FN, P] at $dy)
  ;; and W [FN, Kc] at $bp, packed by $packB with its columns in the order (fy, fx, c), then $col2imGather of dcol_n into
  ;; dx's image n (dx [N, C, H, W] at $dst). Each element of dcol is the same sum over the filters as one GEMM over all
  ;; N*P rows makes it ($gemmRows: in order, in blocks of 256; the order of B's columns changes none), and
  ;; $col2imGather adds them in $col2im's order, so dx has the bits of a GEMM then col2im; but dcol_n (P*Kc floats, 56 KiB
  ;; for 7x7 pixels of 32x3x3) stays in L2 between the GEMM's stores and the gather's loads, where the whole dcol
  ;; [N*P, Kc] went to memory and back, and dy needs no transposed copy. Every image of the chunk uses image n0's slot of
  ;; $scratch (threads take disjoint image ranges, so they never share one): dcol_n, then FH*FW i32 for the gather.
  (func $gemmCol2imImages (export "gemmCol2imImages")
    (param $n0 i32) (param $n1 i32) (param $dy i32) (param $FN i32) (param $bp i32) (param $scratch i32)
    (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32) (param $stride i32) (param $pad i32)
    (param $OH i32) (param $OW i32) (param $dst i32)
    (local $P i32) (local $Kc i32) (local $slot i32) (local $n i32) (local $dcolBytes i32)
    (local.set $P (i32.mul (local.get $OH) (local.get $OW)))
    (local.set $Kc (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW))))
    (local.set $dcolBytes (i32.shl (i32.mul (local.get $P) (local.get $Kc)) (i32.const 2)))
    (local.set $slot (i32.add (local.get $scratch)
      (i32.mul (local.get $n0) (i32.add (local.get $dcolBytes) (i32.shl (i32.mul (local.get $FH) (local.get $FW)) (i32.const 2))))))
    (local.set $n (local.get $n0))
    (block $done
      (loop $images
        (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))
        ;; A[p, f] = dy[n, f, p]: rows 1 float apart, columns P floats apart (no filters, FN = 0: no sums, dcol_n is 0)
        (if (i32.eqz (local.get $FN)) (then (memory.fill (local.get $slot) (i32.const 0) (local.get $dcolBytes))))
        (call $gemmRows (i32.const 0) (local.get $P) (local.get $Kc) (local.get $FN)
          (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $FN)) (local.get $P)) (i32.const 2)))
          (i32.const 1) (local.get $P) (local.get $bp) (local.get $slot) (local.get $Kc) (i32.const 0) (i32.const 0) (i32.const 0))
        (call $col2imGather (local.get $slot) (i32.add (local.get $slot) (local.get $dcolBytes)) (local.get $C) (local.get $H) (local.get $W)
          (local.get $FH) (local.get $FW) (local.get $stride) (local.get $pad) (local.get $OH) (local.get $OW)
          (i32.add (local.get $dst) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $C)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $images))))

  ;; col2im of one image as a gather: dx [C, H, W] at $dst, dx[c, iy, ix] = 0 + the sum of the dcol entries that
  ;; $col2im adds to it, in its order (rows (oy, ox) ascending), from dcol [P, Kc] at $src whose columns are in the order
  ;; (fy, fx, c): entry (oy, ox, fy, fx) with fy = iy + pad - stride*oy, fx = ix + pad - stride*ox inside the filter.
  ;; Per pixel (iy, ix) the byte offsets of its entries go to $taps (FH*FW i32 at most), then four channels at a time
  ;; sum them as vectors (the channels of an entry are adjacent), each stored to its plane. No scatter, no
  ;; read-modify-write of dx: each element is written once.
  (func $col2imGather
    (param $src i32) (param $taps i32) (param $C i32) (param $H i32) (param $W i32) (param $FH i32) (param $FW i32)
    (param $stride i32) (param $pad i32) (param $OH i32) (param $OW i32) (param $dst i32)
    (local $iy i32) (local $ix i32) (local $oy i32) (local $ox i32) (local $oyHi i32) (local $oxLo i32) (local $oxHi i32)
    (local $rowBytes i32) (local $plane4 i32) (local $tend i32) (local $pt i32) (local $c i32) (local $C4 i32) (local $at i32)
    (local $acc v128) (local $s f32)
    ;; bytes of a dcol row, and of a plane of dx
    (local.set $rowBytes (i32.shl (i32.mul (local.get $C) (i32.mul (local.get $FH) (local.get $FW))) (i32.const 2)))
    (local.set $plane4 (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))
    (local.set $C4 (i32.and (local.get $C) (i32.const -4)))
    (local.set $iy (i32.const 0))
    (block $ydone
      (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $iy) (local.get $H)))
        ;; the rows oy whose window covers iy: fy = iy + pad - stride*oy in [0, FH), oy in [0, OH)
        (local.set $oyHi (i32.div_s (i32.add (local.get $iy) (local.get $pad)) (local.get $stride)))
        (if (i32.ge_s (local.get $oyHi) (local.get $OH)) (then (local.set $oyHi (i32.sub (local.get $OH) (i32.const 1)))))
        (local.set $ix (i32.const 0))
        (block $xdone
          (loop $xloop
            (br_if $xdone (i32.ge_u (local.get $ix) (local.get $W)))
            (local.set $oxHi (i32.div_s (i32.add (local.get $ix) (local.get $pad)) (local.get $stride)))
            (if (i32.ge_s (local.get $oxHi) (local.get $OW)) (then (local.set $oxHi (i32.sub (local.get $OW) (i32.const 1)))))
            ;; the first ox: the smallest >= 0 with fx < FW
            (local.set $oxLo (i32.const 0))
            (block $lodone
              (loop $lo
                (br_if $lodone (i32.lt_s (i32.sub (i32.add (local.get $ix) (local.get $pad)) (i32.mul (local.get $stride) (local.get $oxLo))) (local.get $FW)))
                (local.set $oxLo (i32.add (local.get $oxLo) (i32.const 1)))
                (br $lo)))
            ;; the entries' offsets, rows (oy, ox) ascending
            (local.set $tend (local.get $taps))
            (local.set $oy (i32.const 0))
            (block $tydone
              (loop $tyloop
                (br_if $tydone (i32.gt_s (local.get $oy) (local.get $oyHi)))
                (if (i32.lt_s (i32.sub (i32.add (local.get $iy) (local.get $pad)) (i32.mul (local.get $stride) (local.get $oy))) (local.get $FH))
                  (then
                    (local.set $ox (local.get $oxLo))
                    (block $txdone
                      (loop $txloop
                        (br_if $txdone (i32.gt_s (local.get $ox) (local.get $oxHi)))
                        ;; row oy*OW + ox, column block (fy*FW + fx)*C
                        (i32.store (local.get $tend) (i32.add (local.get $src) (i32.add
                          (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (local.get $rowBytes))
                          (i32.shl (i32.mul (i32.add
                            (i32.mul (i32.sub (i32.add (local.get $iy) (local.get $pad)) (i32.mul (local.get $stride) (local.get $oy))) (local.get $FW))
                            (i32.sub (i32.add (local.get $ix) (local.get $pad)) (i32.mul (local.get $stride) (local.get $ox)))) (local.get $C)) (i32.const 2)))))
                        (local.set $tend (i32.add (local.get $tend) (i32.const 4)))
                        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                        (br $txloop)))))
                (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
                (br $tyloop)))
            ;; dx[c, iy, ix] for four channels at a time, then the last C mod 4
            (local.set $at (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
            (local.set $c (i32.const 0))
            (block $cdone
              (loop $cloop
                (br_if $cdone (i32.ge_u (local.get $c) (local.get $C4)))
                (local.set $acc (v128.const i32x4 0 0 0 0))
                (local.set $pt (local.get $taps))
                (block $sdone
                  (loop $sloop
                    (br_if $sdone (i32.ge_u (local.get $pt) (local.get $tend)))
                    (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (i32.load (local.get $pt)) (i32.shl (local.get $c) (i32.const 2))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $sloop)))
                (f32.store (local.get $at) (f32x4.extract_lane 0 (local.get $acc)))
                (f32.store (i32.add (local.get $at) (local.get $plane4)) (f32x4.extract_lane 1 (local.get $acc)))
                (f32.store (i32.add (local.get $at) (i32.shl (local.get $plane4) (i32.const 1))) (f32x4.extract_lane 2 (local.get $acc)))
                (f32.store (i32.add (local.get $at) (i32.mul (local.get $plane4) (i32.const 3))) (f32x4.extract_lane 3 (local.get $acc)))
                (local.set $at (i32.add (local.get $at) (i32.shl (local.get $plane4) (i32.const 2))))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br $cloop)))
            (block $c1done
              (loop $c1loop
                (br_if $c1done (i32.ge_u (local.get $c) (local.get $C)))
                (local.set $s (f32.const 0))
                (local.set $pt (local.get $taps))
                (block $s1done
                  (loop $s1loop
                    (br_if $s1done (i32.ge_u (local.get $pt) (local.get $tend)))
                    (local.set $s (f32.add (local.get $s) (f32.load (i32.add (i32.load (local.get $pt)) (i32.shl (local.get $c) (i32.const 2))))))
                    (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
                    (br $s1loop)))
                (f32.store (local.get $at) (local.get $s))
                (local.set $at (i32.add (local.get $at) (local.get $plane4)))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $c1loop)))
            (local.set $ix (i32.add (local.get $ix) (i32.const 1)))
            (br $xloop)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br $yloop))))

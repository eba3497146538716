;; The multiply stage of winograd.wat's $winogradTiles: for each element ξ < X of the transformed tile, over one block of
;; tiles, M_ξ [K, tiles] = U_ξ [K, C] x V_ξ [C, tiles]. gemm.wat's $gemmRows did it, one call per ξ and one call of
;; $micro per 4 x 8 tile of M; at the channel counts of the presets' 3x3 layers (C = K = 16, 32, 64) a tile's sum runs
;; over only 16..64 channels, so the per-tile costs (two calls, the checks for indexed and strided A, the ragged edge,
;; the K blocking) weighed a quarter to a third of the sums. Here one call does the block's X products, no edge paths:
;; - A register tile is 2 rows of M x 16 tiles (two panels of V): 8 accumulators, 4 vectors of V and one broadcast U,
;;   14 of the 15 xmm registers V8 allocates. Per channel it loads 4 vectors and broadcasts 2 floats for 16 multiplies
;;   and 16 adds; $micro's 4 x 8 tile broadcasts 4 floats for as many, and ran 0.90x as fast here (C = K = 16..64,
;;   kernel alone). 5 x 8 (10 accumulators) ran 0.75x, two channels a loop iteration 0.3x-0.8x (TurboFan hoists the
;;   loads and spills), U stored broadcast to 4 lanes (plain loads instead of broadcasts) 0.8x-1.0x.
;; - U_ξ is stored [C, K] (U_ξ[c, k] at u + 4 (ξ C K + c K + k)): a tile's two rows k0, k0 + 1 are side by side, one
;;   pointer with constant offsets. K odd: the last tile starts at row K - 2 and recomputes a row of the tile before it
;;   (the same sums in the same order: the same bits), so every tile has 2 rows.
;; - V_ξ is packed in panels of 8 tiles (tile t, channel c at v + ξ vStride + 4 ((t >> 3) 8 C + 8 c + (t & 7)), as
;;   $packB lays out B). A block whose tiles end inside a pair of panels (tiles mod 16 != 0) is computed to the pair's
;;   end from whatever V holds past its tiles, and those columns of M, which the output transform never reads, are
;;   stored too: V_ξ must span the tiles rounded up to 16, and M's rows ($ldc floats, a multiple of 16) as many.
;; - M_ξ[k, t] at m + ξ mStride + 4 (k ldc + t).
;; Each M_ξ[k, t] is ((0 + U[0]·V[0]) + U[1]·V[1]) + ... in channel order, a f32x4.mul then a f32x4.add per channel, as
;; $micro sums it with a K block of 256 (so C <= 256: deeper sums $gemmRows splits in blocks, and they go there).
;; Needs K >= 2 and C >= 1.

  (func $winogradMultiply (export "winogradMultiply")
    (param $u i32) (param $C i32) (param $K i32) (param $v i32) (param $vStride i32) (param $m i32) (param $mStride i32)
    (param $tiles i32) (param $ldc i32) (param $xis i32)
    (local $xi i32) (local $ux i32) (local $panel i32) (local $panelsEnd i32) (local $col i32) (local $k0 i32) (local $row i32)
    (local $pa i32) (local $pb i32) (local $pb2 i32) (local $end i32) (local $pc i32)
    (local $panelBytes i32) (local $sa i32) (local $ldc4 i32) (local $uBytes i32)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    ;; bytes: a panel of V (8 tiles x C), a row of U (K floats, one channel), a row of M, one U_ξ
    (local.set $panelBytes (i32.shl (local.get $C) (i32.const 5)))
    (local.set $sa (i32.shl (local.get $K) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $uBytes (i32.mul (local.get $C) (local.get $sa)))
    (local.set $ux (local.get $u))
    (block $xisDone
      (loop $xisLoop
        (br_if $xisDone (i32.ge_u (local.get $xi) (local.get $xis)))
        ;; pairs of panels (16 tiles): V_ξ's first panel at $panel, the second at $end; M_ξ's columns from $col
        (local.set $panel (i32.add (local.get $v) (i32.mul (local.get $xi) (local.get $vStride))))
        (local.set $panelsEnd (i32.add (local.get $panel)
          (i32.mul (i32.shl (i32.shr_u (i32.add (local.get $tiles) (i32.const 15)) (i32.const 4)) (i32.const 1)) (local.get $panelBytes))))
        (local.set $col (i32.add (local.get $m) (i32.mul (local.get $xi) (local.get $mStride))))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $panel) (local.get $panelsEnd)))
            (local.set $end (i32.add (local.get $panel) (local.get $panelBytes)))
            (local.set $k0 (i32.const 0))
            (loop $rows
              ;; the tile's first row: k0, or K - 2 for the last tile when K is odd
              (local.set $row (select (local.get $k0) (i32.sub (local.get $K) (i32.const 2))
                (i32.le_u (i32.add (local.get $k0) (i32.const 2)) (local.get $K))))
              (local.set $pa (i32.add (local.get $ux) (i32.shl (local.get $row) (i32.const 2))))
              (local.set $pb (local.get $panel))
              (local.set $pb2 (local.get $end))
              (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
              (local.set $c02 (v128.const i32x4 0 0 0 0)) (local.set $c03 (v128.const i32x4 0 0 0 0))
              (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
              (local.set $c12 (v128.const i32x4 0 0 0 0)) (local.set $c13 (v128.const i32x4 0 0 0 0))
              (loop $channels
                (local.set $b0 (v128.load (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $b2 (v128.load (local.get $pb2)))
                (local.set $b3 (v128.load offset=16 (local.get $pb2)))
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
                (local.set $pa (i32.add (local.get $pa) (local.get $sa)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $pb2 (i32.add (local.get $pb2) (i32.const 32)))
                (br_if $channels (i32.lt_u (local.get $pb) (local.get $end))))
              ;; rows row, row + 1 of M_ξ, 16 columns each
              (local.set $pc (i32.add (local.get $col) (i32.mul (local.get $row) (local.get $ldc4))))
              (v128.store (local.get $pc) (local.get $c00))
              (v128.store offset=16 (local.get $pc) (local.get $c01))
              (v128.store offset=32 (local.get $pc) (local.get $c02))
              (v128.store offset=48 (local.get $pc) (local.get $c03))
              (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
              (v128.store (local.get $pc) (local.get $c10))
              (v128.store offset=16 (local.get $pc) (local.get $c11))
              (v128.store offset=32 (local.get $pc) (local.get $c12))
              (v128.store offset=48 (local.get $pc) (local.get $c13))
              (local.set $k0 (i32.add (local.get $k0) (i32.const 2)))
              (br_if $rows (i32.lt_u (local.get $k0) (local.get $K))))
            (local.set $panel (i32.add (local.get $end) (local.get $panelBytes)))
            (local.set $col (i32.add (local.get $col) (i32.const 64)))
            (br $pairs)))
        (local.set $ux (i32.add (local.get $ux) (local.get $uBytes)))
        (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
        (br $xisLoop))))

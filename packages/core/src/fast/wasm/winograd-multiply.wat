;; The multiply stage of winograd.wat's $winogradTiles: for each element ξ < X of the transformed tile, over one block of
;; tiles, M_ξ [K, tiles] = U_ξ [K, C] x V_ξ [C, tiles]. gemm.wat's $gemmRows did it, one call per ξ and one call of
;; $micro per 4 x 8 tile of M; at the channel counts of the presets' 3x3 layers (C = K = 16, 32, 64) a tile's sum runs
;; over only C = 16..64 channels, so the per-tile costs (two calls, the checks for indexed and strided A, the ragged
;; edge, the K blocking) weighed as much as a third of the sum itself. Here one call does the block's X products, with
;; one register tile (4 rows of M x 8 tiles, as $micro) and no edge paths:
;; - U_ξ is stored [C, K] (U_ξ[c, k] at u + 4 (ξ C K + c K + k)): the four rows k0..k0+3 of a tile are side by side,
;;   reached from one pointer with constant offsets (see $micro); K mod 4 rows: the last tile starts at row K - 4 and
;;   recomputes rows of the tile before it (the same sums in the same order: the same bits), so every tile is whole.
;; - V_ξ is packed in panels of 8 tiles (tile t, channel c at v + ξ vStride + 4 ((t >> 3) 8 C + 8 c + (t & 7)), as
;;   $packB lays out B). When the block's tiles end in half a panel (tiles mod 8 = 4), its last 4 lanes are computed
;;   from whatever V holds there and stored to M's columns past the tiles, which the output transform never reads:
;;   M's rows ($ldc floats, a multiple of 8 at least the tiles rounded up to 8) have room for them.
;; - M_ξ[k, t] at m + ξ mStride + 4 (k ldc + t).
;; Each M_ξ[k, t] is ((0 + U[0]·V[0]) + U[1]·V[1]) + ... in channel order, a f32x4.mul then a f32x4.add per channel, as
;; $micro sums it with a K block of 256 (so C <= 256: deeper sums $gemmRows splits, and they go there). Needs K >= 4.

  (func $winogradMultiply (export "winogradMultiply")
    (param $u i32) (param $C i32) (param $K i32) (param $v i32) (param $vStride i32) (param $m i32) (param $mStride i32)
    (param $tiles i32) (param $ldc i32) (param $xis i32)
    (local $xi i32) (local $ux i32) (local $panel i32) (local $panelEnd i32) (local $col i32) (local $k0 i32) (local $row i32)
    (local $pa i32) (local $pb i32) (local $end i32) (local $pc i32)
    (local $panelBytes i32) (local $sa i32) (local $ldc4 i32) (local $uBytes i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    ;; bytes: a panel of V (8 tiles x C), a row of U (K floats, one channel), a row of M, one U_ξ
    (local.set $panelBytes (i32.shl (local.get $C) (i32.const 5)))
    (local.set $sa (i32.shl (local.get $K) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $uBytes (i32.mul (local.get $C) (local.get $sa)))
    (local.set $ux (local.get $u))
    (block $xisDone
      (loop $xisLoop
        (br_if $xisDone (i32.ge_u (local.get $xi) (local.get $xis)))
        ;; panels of 8 tiles: V_ξ's panel at $panel, M_ξ's columns from $col
        (local.set $panel (i32.add (local.get $v) (i32.mul (local.get $xi) (local.get $vStride))))
        (local.set $panelEnd (i32.add (local.get $panel)
          (i32.mul (i32.shr_u (i32.add (local.get $tiles) (i32.const 7)) (i32.const 3)) (local.get $panelBytes))))
        (local.set $col (i32.add (local.get $m) (i32.mul (local.get $xi) (local.get $mStride))))
        (block $panelsDone
          (loop $panels
            (br_if $panelsDone (i32.ge_u (local.get $panel) (local.get $panelEnd)))
            (local.set $end (i32.add (local.get $panel) (local.get $panelBytes)))
            (local.set $k0 (i32.const 0))
            (block $rowsDone
              (loop $rows
                ;; the tile's first row: k0, or K - 4 for the last tile when K mod 4 rows are left
                (local.set $row (select (local.get $k0) (i32.sub (local.get $K) (i32.const 4))
                  (i32.le_u (i32.add (local.get $k0) (i32.const 4)) (local.get $K))))
                (local.set $pa (i32.add (local.get $ux) (i32.shl (local.get $row) (i32.const 2))))
                (local.set $pb (local.get $panel))
                (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
                (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
                (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
                (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
                (loop $channels
                  (local.set $b0 (v128.load (local.get $pb)))
                  (local.set $b1 (v128.load offset=16 (local.get $pb)))
                  (local.set $a (v128.load32_splat offset=0 (local.get $pa)))
                  (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
                  (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
                  (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
                  (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $pa (i32.add (local.get $pa) (local.get $sa)))
                  (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                  (br_if $channels (i32.lt_u (local.get $pb) (local.get $end))))
                ;; rows row..row+3 of M_ξ, 8 columns each
                (local.set $pc (i32.add (local.get $col) (i32.mul (local.get $row) (local.get $ldc4))))
                (v128.store (local.get $pc) (local.get $c00))
                (v128.store offset=16 (local.get $pc) (local.get $c01))
                (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
                (v128.store (local.get $pc) (local.get $c10))
                (v128.store offset=16 (local.get $pc) (local.get $c11))
                (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
                (v128.store (local.get $pc) (local.get $c20))
                (v128.store offset=16 (local.get $pc) (local.get $c21))
                (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
                (v128.store (local.get $pc) (local.get $c30))
                (v128.store offset=16 (local.get $pc) (local.get $c31))
                (local.set $k0 (i32.add (local.get $k0) (i32.const 4)))
                (br_if $rows (i32.lt_u (local.get $k0) (local.get $K)))))
            (local.set $panel (local.get $end))
            (local.set $col (i32.add (local.get $col) (i32.const 32)))
            (br $panels)))
        (local.set $ux (i32.add (local.get $ux) (local.get $uBytes)))
        (local.set $xi (i32.add (local.get $xi) (i32.const 1)))
        (br $xisLoop))))

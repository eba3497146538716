;; Batch normalization per channel, forward and backward: x [N, C, ...] as N*C planes of S floats (plane n*C + c is
;; channel c of image n; S = 1 for [N, C]). Every function takes its channel range [c0, c1) first, so threads split a
;; layer by channels (see threads.ts); a channel's result never depends on how they are split. Sums run in f32x4
;; lanes within one plane (~S/4 terms a lane) and in f64 across planes, so their error stays near float32's own
;; whatever the batch size. $coef holds 4 floats per channel at $coef + 16c: the scalars an element pass reads.

  ;; The sum of a vector's four lanes and a scalar, in f64.
  (func $hsum64 (param $v v128) (param $t f32) (result f64)
    (f64.add
      (f64.add
        (f64.add (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v))) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v))))
        (f64.add (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v))) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v)))))
      (f64.promote_f32 (local.get $t))))

  ;; The byte offset of plane (n, c): $x + 4 (n C + c) S.
  (func $planeAt (param $x i32) (param $n i32) (param $C i32) (param $c i32) (param $S i32) (result i32)
    (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $S)) (i32.const 2))))

  ;; Two planes at a time: a plane's sums are chains of dependent adds (one f32x4 accumulator, its order fixed by the
  ;; results' bits), so one plane alone waits on the add's latency; two planes' chains interleaved keep the adder busy.
  ;; $q may be $p (an odd plane out), which gives that plane's sums twice.

  ;; The sums of the $S floats at $p and at $q, each in f32x4 lanes and a scalar tail, added in f64 ($hsum64).
  (func $planeSum2 (param $p i32) (param $q i32) (param $S i32) (result f64 f64)
    (local $i i32) (local $end i32) (local $end4 i32) (local $accP v128) (local $accQ v128) (local $tP f32) (local $tQ f32)
    (local.set $end (i32.shl (local.get $S) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $S) (i32.const -4)) (i32.const 2)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $accP (f32x4.add (local.get $accP) (v128.load (i32.add (local.get $p) (local.get $i)))))
        (local.set $accQ (f32x4.add (local.get $accQ) (v128.load (i32.add (local.get $q) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $tP (f32.add (local.get $tP) (f32.load (i32.add (local.get $p) (local.get $i)))))
        (local.set $tQ (f32.add (local.get $tQ) (f32.load (i32.add (local.get $q) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $sloop)))
    (call $hsum64 (local.get $accP) (local.get $tP))
    (call $hsum64 (local.get $accQ) (local.get $tQ)))

  ;; The deviations of the planes at $p and $q from the float32s $mp and $mq: r = sum (x - m) and q = sum (x - m)^2 of
  ;; each, as (rP, qP, rQ, qQ), in f32x4 lanes and a scalar tail, added in f64.
  (func $planeDeviations2 (param $p i32) (param $q i32) (param $S i32) (param $mp f32) (param $mq f32) (result f64 f64 f64 f64)
    (local $i i32) (local $end i32) (local $end4 i32) (local $shiftP v128) (local $shiftQ v128) (local $d v128) (local $e v128)
    (local $accP v128) (local $acc2P v128) (local $accQ v128) (local $acc2Q v128) (local $x f32) (local $y f32)
    (local $tP f32) (local $t2P f32) (local $tQ f32) (local $t2Q f32)
    (local.set $end (i32.shl (local.get $S) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $S) (i32.const -4)) (i32.const 2)))
    (local.set $shiftP (f32x4.splat (local.get $mp)))
    (local.set $shiftQ (f32x4.splat (local.get $mq)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $shiftP)))
        (local.set $e (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $i))) (local.get $shiftQ)))
        (local.set $accP (f32x4.add (local.get $accP) (local.get $d)))
        (local.set $acc2P (f32x4.add (local.get $acc2P) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $accQ (f32x4.add (local.get $accQ) (local.get $e)))
        (local.set $acc2Q (f32x4.add (local.get $acc2Q) (f32x4.mul (local.get $e) (local.get $e))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $x (f32.sub (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $mp)))
        (local.set $y (f32.sub (f32.load (i32.add (local.get $q) (local.get $i))) (local.get $mq)))
        (local.set $tP (f32.add (local.get $tP) (local.get $x)))
        (local.set $t2P (f32.add (local.get $t2P) (f32.mul (local.get $x) (local.get $x))))
        (local.set $tQ (f32.add (local.get $tQ) (local.get $y)))
        (local.set $t2Q (f32.add (local.get $t2Q) (f32.mul (local.get $y) (local.get $y))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $sloop)))
    (call $hsum64 (local.get $accP) (local.get $tP))
    (call $hsum64 (local.get $acc2P) (local.get $t2P))
    (call $hsum64 (local.get $accQ) (local.get $tQ))
    (call $hsum64 (local.get $acc2Q) (local.get $t2Q)))

  ;; A plane of $sf floats (float32 nearest its mean $mf, deviations $r and $q from it, as $planeDeviations2 gives them)
  ;; merged into the running count, mean and M2 of the planes before it: the plane's mean mf + r/S and squared
  ;; deviations q - r^2/S, then Chan et al.'s pairwise update, delta = mean_b - mean_a, M2 += M2_b + delta^2 n_a n_b / n.
  (func $mergePlane (param $cnt f64) (param $mean f64) (param $M2 f64) (param $sf f64) (param $mf f32) (param $r f64) (param $q f64)
    (result f64 f64 f64)
    (local $pm f64) (local $pM2 f64) (local $tot f64) (local $delta f64)
    (local.set $pm (f64.add (f64.promote_f32 (local.get $mf)) (f64.div (local.get $r) (local.get $sf))))
    (local.set $pM2 (f64.sub (local.get $q) (f64.div (f64.mul (local.get $r) (local.get $r)) (local.get $sf))))
    (local.set $tot (f64.add (local.get $cnt) (local.get $sf)))
    (local.set $delta (f64.sub (local.get $pm) (local.get $mean)))
    (local.get $tot)
    (f64.add (local.get $mean) (f64.div (f64.mul (local.get $delta) (local.get $sf)) (local.get $tot)))
    (f64.add (f64.add (local.get $M2) (local.get $pM2))
      (f64.div (f64.mul (f64.mul (local.get $delta) (local.get $delta)) (f64.mul (local.get $cnt) (local.get $sf))) (local.get $tot))))

  ;; Each channel's mean and biased variance over its N planes, as two f64 at $stats + 16c. Per plane: its sum, the
  ;; float32 nearest its mean (mf), then r = sum (x - mf) and q = sum (x - mf)^2 from the plane still in cache, which
  ;; give the plane's mean and squared deviations without the cancellation of sum x^2 - S mean^2; the planes merged in
  ;; order ($mergePlane). Planes go two at a time.
  (func $statsChannel
    (param $x i32) (param $N i32) (param $C i32) (param $S i32) (param $c i32) (param $stats i32)
    (local $n i32) (local $p i32) (local $q i32) (local $mp f32) (local $mq f32)
    (local $sf f64) (local $sumP f64) (local $sumQ f64) (local $rP f64) (local $qP f64) (local $rQ f64) (local $qQ f64)
    (local $cnt f64) (local $mean f64) (local $M2 f64)
    (local.set $sf (f64.convert_i32_u (local.get $S)))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $p (call $planeAt (local.get $x) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        ;; plane n + 1 of the channel, or plane n again when it is the last
        (local.set $q (select (i32.add (local.get $p) (i32.shl (i32.mul (local.get $C) (local.get $S)) (i32.const 2))) (local.get $p)
          (i32.lt_u (i32.add (local.get $n) (i32.const 1)) (local.get $N))))
        (call $planeSum2 (local.get $p) (local.get $q) (local.get $S))
        (local.set $sumQ)
        (local.set $sumP)
        (local.set $mp (f32.demote_f64 (f64.div (local.get $sumP) (local.get $sf))))
        (local.set $mq (f32.demote_f64 (f64.div (local.get $sumQ) (local.get $sf))))
        (call $planeDeviations2 (local.get $p) (local.get $q) (local.get $S) (local.get $mp) (local.get $mq))
        (local.set $qQ)
        (local.set $rQ)
        (local.set $qP)
        (local.set $rP)
        (call $mergePlane (local.get $cnt) (local.get $mean) (local.get $M2) (local.get $sf) (local.get $mp) (local.get $rP) (local.get $qP))
        (local.set $M2)
        (local.set $mean)
        (local.set $cnt)
        (if (i32.ne (local.get $q) (local.get $p))
          (then
            (call $mergePlane (local.get $cnt) (local.get $mean) (local.get $M2) (local.get $sf) (local.get $mq) (local.get $rQ) (local.get $qQ))
            (local.set $M2)
            (local.set $mean)
            (local.set $cnt)))
        (local.set $n (i32.add (local.get $n) (i32.const 2)))
        (br $nloop)))
    (f64.store (i32.add (local.get $stats) (i32.shl (local.get $c) (i32.const 4))) (local.get $mean))
    ;; rounding can leave a constant channel's M2 a hair below 0; a NaN stays NaN (f64.max propagates it)
    (f64.store offset=8 (i32.add (local.get $stats) (i32.shl (local.get $c) (i32.const 4)))
      (f64.max (f64.const 0) (f64.div (local.get $M2) (local.get $cnt)))))

  ;; The normalisation: out = (x - m) * scale + shift per channel, coef (m, scale, shift, -): m the float32 nearest the
  ;; mean, scale = gamma / std, shift = beta - (mean - m) scale. With $addend nonzero, then plus its element (laid out as
  ;; out: a residual block's shortcut, one f32 add as add.wat's $addElements would make of the stored value); with $relu
  ;; 1, then ReLU with the lesson's mask (y <= 0 gives +0; NaN passes), as relu.wat's $relu. Two planes at a time (the
  ;; last one twice when N is odd): the addend's planes come from memory, not the cache, and a second stream of them
  ;; keeps twice the reads in flight where one plane's short stream waited on each.
  (func $applyChannel
    (param $x i32) (param $N i32) (param $C i32) (param $S i32) (param $c i32) (param $coef i32) (param $relu i32) (param $addend i32) (param $out i32)
    (local $n i32) (local $p i32) (local $q i32) (local $o i32) (local $u i32) (local $i i32) (local $end i32) (local $end4 i32) (local $toAddend i32)
    (local $m v128) (local $sc v128) (local $b v128) (local $v v128) (local $w v128) (local $rmask v128)
    (local $ms f32) (local $scs f32) (local $bs f32) (local $y f32) (local $z f32)
    (local.set $rmask (i32x4.splat (i32.sub (i32.const 0) (local.get $relu))))
    (local.set $ms (f32.load (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $scs (f32.load offset=4 (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $bs (f32.load offset=8 (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $m (f32x4.splat (local.get $ms)))
    (local.set $sc (f32x4.splat (local.get $scs)))
    (local.set $b (f32x4.splat (local.get $bs)))
    ;; the addend's element is a fixed distance from its output's
    (local.set $toAddend (i32.sub (local.get $addend) (local.get $out)))
    (local.set $end (i32.shl (local.get $S) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $S) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.const 0))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $p (call $planeAt (local.get $x) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $o (call $planeAt (local.get $out) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $q (local.get $p))
        (local.set $u (local.get $o))
        (if (i32.lt_u (i32.add (local.get $n) (i32.const 1)) (local.get $N))
          (then
            (local.set $q (call $planeAt (local.get $x) (i32.add (local.get $n) (i32.const 1)) (local.get $C) (local.get $c) (local.get $S)))
            (local.set $u (call $planeAt (local.get $out) (i32.add (local.get $n) (i32.const 1)) (local.get $C) (local.get $c) (local.get $S)))))
        (local.set $i (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
            (local.set $v (f32x4.add (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $m)) (local.get $sc)) (local.get $b)))
            (local.set $w (f32x4.add (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $i))) (local.get $m)) (local.get $sc)) (local.get $b)))
            (if (local.get $addend)
              (then
                (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (i32.add (local.get $o) (local.get $toAddend)) (local.get $i)))))
                (local.set $w (f32x4.add (local.get $w) (v128.load (i32.add (i32.add (local.get $u) (local.get $toAddend)) (local.get $i)))))))
            (v128.store (i32.add (local.get $o) (local.get $i))
              (v128.andnot (local.get $v) (v128.and (f32x4.le (local.get $v) (v128.const i32x4 0 0 0 0)) (local.get $rmask))))
            (v128.store (i32.add (local.get $u) (local.get $i))
              (v128.andnot (local.get $w) (v128.and (f32x4.le (local.get $w) (v128.const i32x4 0 0 0 0)) (local.get $rmask))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $y (f32.add (f32.mul (f32.sub (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $ms)) (local.get $scs)) (local.get $bs)))
            (local.set $z (f32.add (f32.mul (f32.sub (f32.load (i32.add (local.get $q) (local.get $i))) (local.get $ms)) (local.get $scs)) (local.get $bs)))
            (if (local.get $addend)
              (then
                (local.set $y (f32.add (local.get $y) (f32.load (i32.add (i32.add (local.get $o) (local.get $toAddend)) (local.get $i)))))
                (local.set $z (f32.add (local.get $z) (f32.load (i32.add (i32.add (local.get $u) (local.get $toAddend)) (local.get $i)))))))
            (f32.store (i32.add (local.get $o) (local.get $i))
              (select (f32.const 0) (local.get $y) (i32.and (local.get $relu) (f32.le (local.get $y) (f32.const 0)))))
            (f32.store (i32.add (local.get $u) (local.get $i))
              (select (f32.const 0) (local.get $z) (i32.and (local.get $relu) (f32.le (local.get $z) (f32.const 0)))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $sloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 2)))
        (br $nloop))))

  ;; The backward's sums of two planes: sum g and sum g (x - m) over the planes of dy at $p and $r and of x at $q and $s,
  ;; as (gP, pP, gR, pR), where g is dy, or with $out nonzero dy masked where out <= 0 (out's planes at $o and $u: the
  ;; pullback of a ReLU that followed, reading its output). f32x4 lanes and a scalar tail, added in f64.
  (func $gradSums2
    (param $p i32) (param $q i32) (param $o i32) (param $r i32) (param $s i32) (param $u i32) (param $S i32) (param $ms f32) (param $out i32)
    (result f64 f64 f64 f64)
    (local $i i32) (local $end i32) (local $end4 i32) (local $m v128) (local $g v128) (local $h v128)
    (local $accP v128) (local $acc2P v128) (local $accR v128) (local $acc2R v128) (local $gs f32) (local $hs f32)
    (local $tP f32) (local $t2P f32) (local $tR f32) (local $t2R f32)
    (local.set $end (i32.shl (local.get $S) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $S) (i32.const -4)) (i32.const 2)))
    (local.set $m (f32x4.splat (local.get $ms)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $g (v128.load (i32.add (local.get $p) (local.get $i))))
        (local.set $h (v128.load (i32.add (local.get $r) (local.get $i))))
        (if (local.get $out)
          (then
            (local.set $g (v128.andnot (local.get $g) (f32x4.le (v128.load (i32.add (local.get $o) (local.get $i))) (v128.const i32x4 0 0 0 0))))
            (local.set $h (v128.andnot (local.get $h) (f32x4.le (v128.load (i32.add (local.get $u) (local.get $i))) (v128.const i32x4 0 0 0 0))))))
        (local.set $accP (f32x4.add (local.get $accP) (local.get $g)))
        (local.set $acc2P (f32x4.add (local.get $acc2P) (f32x4.mul (local.get $g) (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $i))) (local.get $m)))))
        (local.set $accR (f32x4.add (local.get $accR) (local.get $h)))
        (local.set $acc2R (f32x4.add (local.get $acc2R) (f32x4.mul (local.get $h) (f32x4.sub (v128.load (i32.add (local.get $s) (local.get $i))) (local.get $m)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $p) (local.get $i))))
        (local.set $hs (f32.load (i32.add (local.get $r) (local.get $i))))
        (if (local.get $out)
          (then
            (local.set $gs (select (f32.const 0) (local.get $gs) (f32.le (f32.load (i32.add (local.get $o) (local.get $i))) (f32.const 0))))
            (local.set $hs (select (f32.const 0) (local.get $hs) (f32.le (f32.load (i32.add (local.get $u) (local.get $i))) (f32.const 0))))))
        (local.set $tP (f32.add (local.get $tP) (local.get $gs)))
        (local.set $t2P (f32.add (local.get $t2P) (f32.mul (local.get $gs) (f32.sub (f32.load (i32.add (local.get $q) (local.get $i))) (local.get $ms)))))
        (local.set $tR (f32.add (local.get $tR) (local.get $hs)))
        (local.set $t2R (f32.add (local.get $t2R) (f32.mul (local.get $hs) (f32.sub (f32.load (i32.add (local.get $s) (local.get $i))) (local.get $ms)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $sloop)))
    (call $hsum64 (local.get $accP) (local.get $tP))
    (call $hsum64 (local.get $acc2P) (local.get $t2P))
    (call $hsum64 (local.get $accR) (local.get $tR))
    (call $hsum64 (local.get $acc2R) (local.get $t2R)))

  ;; $gradSums2 at a residual block's end: g always dy masked where out <= 0, and each g also stored, the planes' at
  ;; $keepP and $keepR (the masked dy is the shortcut's gradient too). Its own loops, not a branch in $gradSums2's: a
  ;; test in the inner loop cost the other pullbacks up to ~10% on resnet's planes.
  (func $gradSums2Kept
    (param $p i32) (param $q i32) (param $o i32) (param $r i32) (param $s i32) (param $u i32) (param $S i32) (param $ms f32)
    (param $keepP i32) (param $keepR i32)
    (result f64 f64 f64 f64)
    (local $i i32) (local $end i32) (local $end4 i32) (local $m v128) (local $g v128) (local $h v128)
    (local $accP v128) (local $acc2P v128) (local $accR v128) (local $acc2R v128) (local $gs f32) (local $hs f32)
    (local $tP f32) (local $t2P f32) (local $tR f32) (local $t2R f32)
    (local.set $end (i32.shl (local.get $S) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $S) (i32.const -4)) (i32.const 2)))
    (local.set $m (f32x4.splat (local.get $ms)))
    (block $vdone
      (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $g (v128.andnot (v128.load (i32.add (local.get $p) (local.get $i)))
          (f32x4.le (v128.load (i32.add (local.get $o) (local.get $i))) (v128.const i32x4 0 0 0 0))))
        (local.set $h (v128.andnot (v128.load (i32.add (local.get $r) (local.get $i)))
          (f32x4.le (v128.load (i32.add (local.get $u) (local.get $i))) (v128.const i32x4 0 0 0 0))))
        (v128.store (i32.add (local.get $keepP) (local.get $i)) (local.get $g))
        (v128.store (i32.add (local.get $keepR) (local.get $i)) (local.get $h))
        (local.set $accP (f32x4.add (local.get $accP) (local.get $g)))
        (local.set $acc2P (f32x4.add (local.get $acc2P) (f32x4.mul (local.get $g) (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $i))) (local.get $m)))))
        (local.set $accR (f32x4.add (local.get $accR) (local.get $h)))
        (local.set $acc2R (f32x4.add (local.get $acc2R) (f32x4.mul (local.get $h) (f32x4.sub (v128.load (i32.add (local.get $s) (local.get $i))) (local.get $m)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vloop)))
    (block $sdone
      (loop $sloop
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $gs (select (f32.const 0) (f32.load (i32.add (local.get $p) (local.get $i))) (f32.le (f32.load (i32.add (local.get $o) (local.get $i))) (f32.const 0))))
        (local.set $hs (select (f32.const 0) (f32.load (i32.add (local.get $r) (local.get $i))) (f32.le (f32.load (i32.add (local.get $u) (local.get $i))) (f32.const 0))))
        (f32.store (i32.add (local.get $keepP) (local.get $i)) (local.get $gs))
        (f32.store (i32.add (local.get $keepR) (local.get $i)) (local.get $hs))
        (local.set $tP (f32.add (local.get $tP) (local.get $gs)))
        (local.set $t2P (f32.add (local.get $t2P) (f32.mul (local.get $gs) (f32.sub (f32.load (i32.add (local.get $q) (local.get $i))) (local.get $ms)))))
        (local.set $tR (f32.add (local.get $tR) (local.get $hs)))
        (local.set $t2R (f32.add (local.get $t2R) (f32.mul (local.get $hs) (f32.sub (f32.load (i32.add (local.get $s) (local.get $i))) (local.get $ms)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $sloop)))
    (call $hsum64 (local.get $accP) (local.get $tP))
    (call $hsum64 (local.get $acc2P) (local.get $t2P))
    (call $hsum64 (local.get $accR) (local.get $tR))
    (call $hsum64 (local.get $acc2R) (local.get $t2R)))

  ;; The backward's sums per channel, two f64 at $sums + 16c: sum g and sum g (x - m) ($gradSums2, planes two at a time,
  ;; added in order), coef (m, -, -, -); with $keep nonzero by $gradSums2Kept (out is then nonzero), g stored there too,
  ;; shaped as dy.
  (func $sumsChannel
    (param $dy i32) (param $x i32) (param $out i32) (param $N i32) (param $C i32) (param $S i32) (param $c i32)
    (param $coef i32) (param $sums i32) (param $keep i32)
    (local $n i32) (local $p i32) (local $q i32) (local $o i32) (local $k i32) (local $ms f32) (local $next i32) (local $two i32)
    (local $gP f64) (local $pP f64) (local $gR f64) (local $pR f64) (local $sd f64) (local $sp f64)
    (local.set $ms (f32.load (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $p (call $planeAt (local.get $dy) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $q (call $planeAt (local.get $x) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $o (call $planeAt (local.get $out) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $k (call $planeAt (local.get $keep) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        ;; planes n and n + 1 ($next bytes apart), or plane n twice when it is the last (its g then stored twice, the same)
        (local.set $two (i32.lt_u (i32.add (local.get $n) (i32.const 1)) (local.get $N)))
        (local.set $next (select (i32.shl (i32.mul (local.get $C) (local.get $S)) (i32.const 2)) (i32.const 0) (local.get $two)))
        (if (result f64 f64 f64 f64) (local.get $keep)
          (then
            (call $gradSums2Kept (local.get $p) (local.get $q) (local.get $o)
              (i32.add (local.get $p) (local.get $next)) (i32.add (local.get $q) (local.get $next)) (i32.add (local.get $o) (local.get $next))
              (local.get $S) (local.get $ms) (local.get $k) (i32.add (local.get $k) (local.get $next))))
          (else
            (call $gradSums2 (local.get $p) (local.get $q) (local.get $o)
              (i32.add (local.get $p) (local.get $next)) (i32.add (local.get $q) (local.get $next)) (i32.add (local.get $o) (local.get $next))
              (local.get $S) (local.get $ms) (local.get $out))))
        (local.set $pR)
        (local.set $gR)
        (local.set $pP)
        (local.set $gP)
        (local.set $sd (f64.add (local.get $sd) (local.get $gP)))
        (local.set $sp (f64.add (local.get $sp) (local.get $pP)))
        (if (local.get $two)
          (then
            (local.set $sd (f64.add (local.get $sd) (local.get $gR)))
            (local.set $sp (f64.add (local.get $sp) (local.get $pR)))))
        (local.set $n (i32.add (local.get $n) (i32.const 2)))
        (br $nloop)))
    (f64.store (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 4))) (local.get $sd))
    (f64.store offset=8 (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 4))) (local.get $sp)))

  ;; The input gradient: dx = a g + (b (x - m) + k) per channel, coef (m, a, b, k), g as in $gradSums2. Training (batch
  ;; statistics): a = gamma/std, b = -gamma/std^3 sum g (x - mean) / M, k = -gamma/std sum g / M; evaluation: b = k = 0.
  ;; Planes two at a time, as $applyChannel: plane n of dy, x, out and dx at $p, $q, $o and $w, plane n + 1 a fixed
  ;; $toNext bytes after each (0 for the last plane of an odd N, which is then written twice, the same values).
  (func $dxChannel
    (param $dy i32) (param $x i32) (param $out i32) (param $N i32) (param $C i32) (param $S i32) (param $c i32)
    (param $coef i32) (param $dx i32)
    (local $n i32) (local $i i32) (local $p i32) (local $q i32) (local $o i32) (local $w i32) (local $toNext i32)
    (local $end i32) (local $end4 i32)
    (local $m v128) (local $a v128) (local $b v128) (local $k v128) (local $g v128) (local $h v128)
    (local $ms f32) (local $as f32) (local $bs f32) (local $ks f32) (local $gs f32) (local $hs f32)
    (local.set $ms (f32.load (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $as (f32.load offset=4 (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $bs (f32.load offset=8 (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $ks (f32.load offset=12 (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4)))))
    (local.set $m (f32x4.splat (local.get $ms)))
    (local.set $a (f32x4.splat (local.get $as)))
    (local.set $b (f32x4.splat (local.get $bs)))
    (local.set $k (f32x4.splat (local.get $ks)))
    (local.set $end (i32.shl (local.get $S) (i32.const 2)))
    (local.set $end4 (i32.shl (i32.and (local.get $S) (i32.const -4)) (i32.const 2)))
    (local.set $n (i32.const 0))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $p (call $planeAt (local.get $dy) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $q (call $planeAt (local.get $x) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $o (call $planeAt (local.get $out) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $w (call $planeAt (local.get $dx) (local.get $n) (local.get $C) (local.get $c) (local.get $S)))
        (local.set $toNext
          (select (i32.shl (i32.mul (local.get $C) (local.get $S)) (i32.const 2)) (i32.const 0)
            (i32.lt_u (i32.add (local.get $n) (i32.const 1)) (local.get $N))))
        (local.set $i (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $i) (local.get $end4)))
            (local.set $g (v128.load (i32.add (local.get $p) (local.get $i))))
            (local.set $h (v128.load (i32.add (i32.add (local.get $p) (local.get $toNext)) (local.get $i))))
            (if (local.get $out)
              (then
                (local.set $g (v128.andnot (local.get $g) (f32x4.le (v128.load (i32.add (local.get $o) (local.get $i))) (v128.const i32x4 0 0 0 0))))
                (local.set $h (v128.andnot (local.get $h)
                  (f32x4.le (v128.load (i32.add (i32.add (local.get $o) (local.get $toNext)) (local.get $i))) (v128.const i32x4 0 0 0 0))))))
            (v128.store (i32.add (local.get $w) (local.get $i))
              (f32x4.add (f32x4.mul (local.get $a) (local.get $g))
                (f32x4.add (f32x4.mul (local.get $b) (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $i))) (local.get $m))) (local.get $k))))
            (v128.store (i32.add (i32.add (local.get $w) (local.get $toNext)) (local.get $i))
              (f32x4.add (f32x4.mul (local.get $a) (local.get $h))
                (f32x4.add (f32x4.mul (local.get $b) (f32x4.sub (v128.load (i32.add (i32.add (local.get $q) (local.get $toNext)) (local.get $i))) (local.get $m))) (local.get $k))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $vloop)))
        (block $sdone
          (loop $sloop
            (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $gs (f32.load (i32.add (local.get $p) (local.get $i))))
            (local.set $hs (f32.load (i32.add (i32.add (local.get $p) (local.get $toNext)) (local.get $i))))
            (if (local.get $out)
              (then
                (local.set $gs (select (f32.const 0) (local.get $gs) (f32.le (f32.load (i32.add (local.get $o) (local.get $i))) (f32.const 0))))
                (local.set $hs (select (f32.const 0) (local.get $hs)
                  (f32.le (f32.load (i32.add (i32.add (local.get $o) (local.get $toNext)) (local.get $i))) (f32.const 0))))))
            (f32.store (i32.add (local.get $w) (local.get $i))
              (f32.add (f32.mul (local.get $as) (local.get $gs))
                (f32.add (f32.mul (local.get $bs) (f32.sub (f32.load (i32.add (local.get $q) (local.get $i))) (local.get $ms))) (local.get $ks))))
            (f32.store (i32.add (i32.add (local.get $w) (local.get $toNext)) (local.get $i))
              (f32.add (f32.mul (local.get $as) (local.get $hs))
                (f32.add (f32.mul (local.get $bs) (f32.sub (f32.load (i32.add (i32.add (local.get $q) (local.get $toNext)) (local.get $i))) (local.get $ms))) (local.get $ks))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $sloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 2)))
        (br $nloop))))

  ;; The exports: each takes its channel range [c0, c1) first and runs the passes above channel by channel, so a
  ;; channel's planes are read again from the cache, not from memory, and the per-channel scalars between the passes
  ;; are worked out here, in f64 as JavaScript would (the same bits), with no return to the caller between them.

  ;; The forward per channel: with $batch 1 (training) its mean and variance from the batch ($statsChannel, to $stats),
  ;; else those the caller put at $stats (evaluation's running statistics); then the coefficients (to $coef: m the
  ;; float32 nearest the mean, scale = gamma / sqrt(var + eps), shift = beta - (mean - m) scale) and the normalisation
  ;; ($applyChannel, with the addend at $addend when nonzero, and ReLU when $relu is 1). gamma at $gb + 4c, beta at
  ;; $gb + 4 (C + c), eps the f64 at $eps.
  (func $bnForward (export "bnForward")
    (param $c0 i32) (param $c1 i32) (param $x i32) (param $N i32) (param $C i32) (param $S i32) (param $gb i32) (param $eps i32)
    (param $batch i32) (param $stats i32) (param $coef i32) (param $relu i32) (param $addend i32) (param $out i32)
    (local $c i32) (local $st i32) (local $co i32) (local $mean f64) (local $m f32) (local $scale f64)
    (local.set $c (local.get $c0))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $c1)))
        (if (local.get $batch)
          (then (call $statsChannel (local.get $x) (local.get $N) (local.get $C) (local.get $S) (local.get $c) (local.get $stats))))
        (local.set $st (i32.add (local.get $stats) (i32.shl (local.get $c) (i32.const 4))))
        (local.set $co (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4))))
        (local.set $mean (f64.load (local.get $st)))
        (local.set $m (f32.demote_f64 (local.get $mean)))
        (local.set $scale
          (f64.div (f64.promote_f32 (f32.load (i32.add (local.get $gb) (i32.shl (local.get $c) (i32.const 2)))))
            (f64.sqrt (f64.add (f64.load offset=8 (local.get $st)) (f64.load (local.get $eps))))))
        (f32.store (local.get $co) (local.get $m))
        (f32.store offset=4 (local.get $co) (f32.demote_f64 (local.get $scale)))
        (f32.store offset=8 (local.get $co)
          (f32.demote_f64
            (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $gb) (i32.shl (i32.add (local.get $C) (local.get $c)) (i32.const 2)))))
              (f64.mul (f64.sub (local.get $mean) (f64.promote_f32 (local.get $m))) (local.get $scale)))))
        (call $applyChannel (local.get $x) (local.get $N) (local.get $C) (local.get $S) (local.get $c) (local.get $coef) (local.get $relu) (local.get $addend) (local.get $out))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cloop))))

  ;; The pullback per channel: G = sum g and P = sum g (x - mean) ($sumsChannel about m, the float32 nearest the mean,
  ;; then P = sum g (x - m) + (m - mean) G), dgamma = P / std and dbeta = G (float32, at $dgb + 4c and $dgb + 4 (C + c)),
  ;; and with $dx nonzero dx ($dxChannel) with a = gamma / std and, for batch statistics ($batch 1), b = -a P / (std^2 M),
  ;; k = -a G / M + b (m - mean), else b = k = 0. mean and variance: two f64 at $stats + 16c; gamma at $gamma + 4c; at
  ;; $scalars the f64s eps and M (elements per channel). $coef and $sums: 16 bytes a channel of scratch. With $keep
  ;; nonzero (a residual block's end: dy masked by the ReLU after the sum, which the shortcut needs too) the sums' pass
  ;; stores g there, shaped as dy, and the dx pass reads g from there instead of masking dy again.
  (func $bnBackward (export "bnBackward")
    (param $c0 i32) (param $c1 i32) (param $dy i32) (param $x i32) (param $out i32) (param $N i32) (param $C i32) (param $S i32)
    (param $gamma i32) (param $stats i32) (param $scalars i32) (param $batch i32) (param $coef i32) (param $sums i32) (param $dgb i32) (param $dx i32)
    (param $keep i32)
    (local $c i32) (local $st i32) (local $co i32) (local $su i32) (local $mean f64) (local $m f32) (local $shift f64) (local $G f64) (local $P f64)
    (local $invStd f64) (local $a f64) (local $b f64) (local $k f64) (local $M f64)
    (local.set $M (f64.load offset=8 (local.get $scalars)))
    (local.set $c (local.get $c0))
    (block $cdone
      (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $c1)))
        (local.set $st (i32.add (local.get $stats) (i32.shl (local.get $c) (i32.const 4))))
        (local.set $co (i32.add (local.get $coef) (i32.shl (local.get $c) (i32.const 4))))
        (local.set $su (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 4))))
        (local.set $mean (f64.load (local.get $st)))
        (local.set $m (f32.demote_f64 (local.get $mean)))
        (f32.store (local.get $co) (local.get $m))
        (call $sumsChannel (local.get $dy) (local.get $x) (local.get $out) (local.get $N) (local.get $C) (local.get $S) (local.get $c) (local.get $coef) (local.get $sums) (local.get $keep))
        (local.set $shift (f64.sub (f64.promote_f32 (local.get $m)) (local.get $mean)))
        (local.set $G (f64.load (local.get $su)))
        (local.set $P (f64.add (f64.load offset=8 (local.get $su)) (f64.mul (local.get $shift) (local.get $G))))
        (local.set $invStd (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.load offset=8 (local.get $st)) (f64.load (local.get $scalars))))))
        (f32.store (i32.add (local.get $dgb) (i32.shl (local.get $c) (i32.const 2))) (f32.demote_f64 (f64.mul (local.get $P) (local.get $invStd))))
        (f32.store (i32.add (local.get $dgb) (i32.shl (i32.add (local.get $C) (local.get $c)) (i32.const 2))) (f32.demote_f64 (local.get $G)))
        (if (local.get $dx)
          (then
            (local.set $a (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $gamma) (i32.shl (local.get $c) (i32.const 2))))) (local.get $invStd)))
            (local.set $b (f64.const 0))
            (local.set $k (f64.const 0))
            (if (local.get $batch)
              (then
                ;; as JavaScript evaluates -a * invStd * invStd * P / M and -a * G / M + b * shift, left to right
                (local.set $b (f64.div (f64.mul (f64.mul (f64.mul (f64.neg (local.get $a)) (local.get $invStd)) (local.get $invStd)) (local.get $P)) (local.get $M)))
                (local.set $k (f64.add (f64.div (f64.mul (f64.neg (local.get $a)) (local.get $G)) (local.get $M)) (f64.mul (local.get $b) (local.get $shift))))))
            (f32.store offset=4 (local.get $co) (f32.demote_f64 (local.get $a)))
            (f32.store offset=8 (local.get $co) (f32.demote_f64 (local.get $b)))
            (f32.store offset=12 (local.get $co) (f32.demote_f64 (local.get $k)))
            (call $dxChannel
              (select (local.get $keep) (local.get $dy) (local.get $keep)) (local.get $x) (select (i32.const 0) (local.get $out) (local.get $keep)) (local.get $N) (local.get $C) (local.get $S) (local.get $c) (local.get $coef) (local.get $dx))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cloop))))

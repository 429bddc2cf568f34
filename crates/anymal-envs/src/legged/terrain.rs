//! Terrains: one MuJoCo heightfield holding a grid of tiles, rows (along x) of rising
//! difficulty `d = level / (levels - 1)` in 0..1, columns (along y) of terrain types, a flat
//! platform at each tile's centre where robots start, and a flat border around the grid. Or a
//! plain MuJoCo plane for flat-ground training.
//!
//! The paper's list (Miki et al. 2022, "Terrains") and ranges, with legged_gym's layout:
//! - `Flat`; `Rough`: fractal Perlin noise, amplitude `0.02 + 0.08 d` m;
//! - `RoughDiscrete`: the same noise quantised to 5 cm, amplitude `0.04 + 0.16 d`;
//! - `Slope`: a pyramid falling away from the platform, gradient `0.4 d`;
//! - `StairsUp` / `StairsDown`: square stairs around the platform, tread 0.3 m, riser
//!   `0.05 + 0.17 d` m (the paper: risers 0.01-0.22 m), climbing (descending) away from a sunken
//!   (raised) platform;
//!
//! Every tile meets its neighbours at height 0, so a robot leaving its tile meets no cliff.
//! - `GridSteps`: square cells of width `0.7 - 0.5 d` m (0.7-0.2), each at a random height in
//!   `[0, 0.05 + 0.35 d]` m (the paper: 0.05-0.4 m);
//! - `Boxes`: random boxes `0.05 + 0.2 d` m high (the paper: up to 0.25 m) on flat ground.
//!
//! Heights are read back from the compiled model's `hfield_data` with MuJoCo's own
//! triangulation of each cell (diagonal from `(r, c)` to `(r + 1, c + 1)`), so the height scan
//! sees exactly the surface that MuJoCo collides with.

use noise::{Fbm, MultiFractal, NoiseFn, Perlin};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{EnvError, Result};

/// A terrain type: one column of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerrainType {
    /// Flat ground.
    Flat,
    /// Fractal Perlin noise.
    Rough,
    /// Quantised Perlin noise.
    RoughDiscrete,
    /// A pyramid slope.
    Slope,
    /// Stairs that climb away from the platform.
    StairsUp,
    /// Stairs that descend away from the platform.
    StairsDown,
    /// A grid of steps at random heights.
    GridSteps,
    /// Random boxes on flat ground.
    Boxes,
}

impl TerrainType {
    /// Every type, in the grid's default column order.
    pub const ALL: [TerrainType; 8] = [
        Self::Flat,
        Self::Rough,
        Self::RoughDiscrete,
        Self::Slope,
        Self::StairsUp,
        Self::StairsDown,
        Self::GridSteps,
        Self::Boxes,
    ];

    /// A short name for tables and plots.
    pub fn name(self) -> &'static str {
        match self {
            Self::Flat => "flat",
            Self::Rough => "rough",
            Self::RoughDiscrete => "rough discrete",
            Self::Slope => "slope",
            Self::StairsUp => "stairs up",
            Self::StairsDown => "stairs down",
            Self::GridSteps => "grid steps",
            Self::Boxes => "boxes",
        }
    }

    /// The names under which training logs this type's episodes: the level they ended on
    /// and their success.
    pub fn log_keys(self) -> (&'static str, &'static str) {
        match self {
            Self::Flat => ("terrain_level/flat", "success/flat"),
            Self::Rough => ("terrain_level/rough", "success/rough"),
            Self::RoughDiscrete => ("terrain_level/rough_discrete", "success/rough_discrete"),
            Self::Slope => ("terrain_level/slope", "success/slope"),
            Self::StairsUp => ("terrain_level/stairs_up", "success/stairs_up"),
            Self::StairsDown => ("terrain_level/stairs_down", "success/stairs_down"),
            Self::GridSteps => ("terrain_level/grid_steps", "success/grid_steps"),
            Self::Boxes => ("terrain_level/boxes", "success/boxes"),
        }
    }
}

/// The grid of tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct TileGrid {
    /// Edge of a square tile (m).
    pub tile_size: f64,
    /// Distance between heightfield samples (m).
    pub resolution: f64,
    /// Number of difficulty levels (rows).
    pub levels: usize,
    /// The terrain types (columns).
    pub types: Vec<TerrainType>,
    /// Side of the flat square at each tile's centre (m).
    pub platform: f64,
    /// Width of the flat border around the grid (m).
    pub border: f64,
    /// Seed of the random parts (noise, steps, boxes).
    pub seed: u64,
}

impl Default for TileGrid {
    /// 10 levels x the 8 types of 8 m tiles at 5 cm resolution, 2 m platforms, 4 m border.
    fn default() -> Self {
        Self {
            tile_size: 8.0,
            resolution: 0.05,
            levels: 10,
            types: TerrainType::ALL.to_vec(),
            platform: 2.0,
            border: 4.0,
            seed: 0,
        }
    }
}

/// The ground: a plane, or a heightfield of tiles.
#[derive(Debug, Clone, PartialEq)]
pub enum TerrainConfig {
    /// A MuJoCo plane at z = 0 (the cheapest collision).
    Plane,
    /// A heightfield of tiles.
    Tiles(TileGrid),
}

impl TileGrid {
    /// Checks sizes and counts.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("tile_size", self.tile_size),
            ("resolution", self.resolution),
        ];
        if let Some((name, v)) = positive.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
            return Err(EnvError::Parameter(format!(
                "terrain: {name} must be finite and > 0, got {v}"
            )));
        }
        if self.levels == 0 || self.types.is_empty() {
            return Err(EnvError::Parameter(format!(
                "terrain: at least one level and one type are needed (got {} and {})",
                self.levels,
                self.types.len()
            )));
        }
        if !(0.0..self.tile_size).contains(&self.platform)
            || self.border.is_nan()
            || self.border < 0.0
        {
            return Err(EnvError::Parameter(format!(
                "terrain: platform {} must lie in [0, tile_size {}) and border {} be >= 0",
                self.platform, self.tile_size, self.border
            )));
        }
        if self.tile_size / self.resolution < 4.0 {
            return Err(EnvError::Parameter(format!(
                "terrain: resolution {} is too coarse for tiles of {} m",
                self.resolution, self.tile_size
            )));
        }
        Ok(())
    }

    /// The grid's extent in x (levels) and y (types), border included.
    pub fn extent(&self) -> [f64; 2] {
        [
            self.levels as f64 * self.tile_size + 2.0 * self.border,
            self.types.len() as f64 * self.tile_size + 2.0 * self.border,
        ]
    }

    /// World (x, y) of the centre of tile (`level`, `column`); the grid starts at the origin.
    pub fn tile_center(&self, level: usize, column: usize) -> [f64; 2] {
        [
            self.border + (level as f64 + 0.5) * self.tile_size,
            self.border + (column as f64 + 0.5) * self.tile_size,
        ]
    }

    /// Difficulty of a level, 0 for the first and 1 for the last.
    pub fn difficulty(&self, level: usize) -> f64 {
        if self.levels <= 1 {
            0.0
        } else {
            level as f64 / (self.levels - 1) as f64
        }
    }

    /// Generates the heights: `nrow x ncol` samples (rows along y), world metres.
    pub fn generate(&self) -> Result<HeightGrid> {
        self.validate()?;
        let [lx, ly] = self.extent();
        let ncol = (lx / self.resolution).round() as usize + 1;
        let nrow = (ly / self.resolution).round() as usize + 1;
        let (dx, dy) = (lx / (ncol - 1) as f64, ly / (nrow - 1) as f64);
        let mut heights = vec![0.0f64; nrow * ncol];
        for (level, column) in
            (0..self.levels).flat_map(|l| (0..self.types.len()).map(move |c| (l, c)))
        {
            let tile = Tile::new(self, level, column);
            let x0 = self.border + level as f64 * self.tile_size;
            let y0 = self.border + column as f64 * self.tile_size;
            let c_range = (x0 / dx).ceil() as usize..=((x0 + self.tile_size) / dx).floor() as usize;
            let r_range = (y0 / dy).ceil() as usize..=((y0 + self.tile_size) / dy).floor() as usize;
            for r in r_range.clone() {
                for c in c_range.clone() {
                    let (u, v) = (c as f64 * dx - x0, r as f64 * dy - y0);
                    heights[r * ncol + c] = tile.height(u, v);
                }
            }
        }
        Ok(HeightGrid {
            nrow,
            ncol,
            extent: [lx, ly],
            heights,
        })
    }
}

/// A generated grid of heights, before MuJoCo's normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightGrid {
    /// Samples along y.
    pub nrow: usize,
    /// Samples along x.
    pub ncol: usize,
    /// Extent in x and y (m); the grid spans [0, extent].
    pub extent: [f64; 2],
    /// Heights (m), row after row.
    pub heights: Vec<f64>,
}

impl HeightGrid {
    /// The MJCF of the heightfield asset and geom, and the normalised data to write into the
    /// compiled model's `hfield_data` (MuJoCo stores heights in [0, 1] times `size[2]`).
    pub fn to_mjcf(&self) -> (String, String, Vec<f32>) {
        let low = self.heights.iter().cloned().fold(f64::INFINITY, f64::min);
        let high = self
            .heights
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let range = (high - low).max(1e-3);
        let data = self
            .heights
            .iter()
            .map(|h| ((h - low) / range) as f32)
            .collect();
        let [lx, ly] = self.extent;
        let asset = format!(
            r#"<asset><hfield name="terrain" nrow="{}" ncol="{}" size="{} {} {} 1"/></asset>"#,
            self.nrow,
            self.ncol,
            lx / 2.0,
            ly / 2.0,
            range
        );
        let geom = format!(
            r#"<geom name="terrain" type="hfield" hfield="terrain" pos="{} {} {}" {TERRAIN_GEOM_ATTRIBUTES}/>"#,
            lx / 2.0,
            ly / 2.0,
            low
        );
        (asset, geom, data)
    }
}

/// Collision and look of the ground geom. Its friction is the lowest MuJoCo allows, so that a
/// contact takes the foot's (MuJoCo combines frictions by their maximum): the randomised foot
/// friction is the contact's. Group 2 lets ray casts pick the ground alone.
pub const TERRAIN_GEOM_ATTRIBUTES: &str = r#"contype="1" conaffinity="1" condim="3" friction="0.00001 0.00001 0.00001" group="2" rgba="0.55 0.6 0.5 1""#;

/// One tile's generator.
struct Tile<'a> {
    grid: &'a TileGrid,
    kind: TerrainType,
    difficulty: f64,
    noise: Fbm<Perlin>,
    /// Random cell heights (grid steps) or boxes `[x0, y0, x1, y1, height]`.
    cells: Vec<f64>,
    boxes: Vec<[f64; 5]>,
}

/// Tread of the stairs (m).
const STAIR_TREAD: f64 = 0.3;

impl<'a> Tile<'a> {
    fn new(grid: &'a TileGrid, level: usize, column: usize) -> Self {
        let kind = grid.types[column];
        let difficulty = grid.difficulty(level);
        let tile_seed =
            grid.seed ^ ((level as u64) << 32 | column as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = ChaCha8Rng::seed_from_u64(tile_seed);
        let noise = Fbm::<Perlin>::new(rng.random())
            .set_octaves(4)
            .set_frequency(1.0);
        let width = Self::cell_width(difficulty);
        let cells_per_side = (grid.tile_size / width).ceil() as usize + 1;
        let step_height = 0.05 + 0.35 * difficulty;
        let cells = (0..cells_per_side * cells_per_side)
            .map(|_| rng.random_range(0.0..=step_height))
            .collect();
        let box_height = 0.05 + 0.2 * difficulty;
        let boxes = (0..24)
            .map(|_| {
                let (w, l) = (rng.random_range(0.4..1.2), rng.random_range(0.4..1.2));
                let (x, y) = (
                    rng.random_range(0.0..grid.tile_size),
                    rng.random_range(0.0..grid.tile_size),
                );
                [
                    x - w / 2.0,
                    y - l / 2.0,
                    x + w / 2.0,
                    y + l / 2.0,
                    rng.random_range(0.05..=box_height),
                ]
            })
            .collect();
        Self {
            grid,
            kind,
            difficulty,
            noise,
            cells,
            boxes,
        }
    }

    fn cell_width(difficulty: f64) -> f64 {
        0.7 - 0.5 * difficulty
    }

    /// Height at tile coordinates `(u, v)` in `[0, tile_size]`.
    fn height(&self, u: f64, v: f64) -> f64 {
        let half = self.grid.tile_size / 2.0;
        let platform = self.grid.platform / 2.0;
        // Chebyshev distance from the centre, minus the platform's half side.
        let out = ((u - half).abs().max((v - half).abs()) - platform).max(0.0);
        let d = self.difficulty;
        let on_platform = out <= 0.0;
        match self.kind {
            TerrainType::Flat => 0.0,
            TerrainType::Rough if on_platform => 0.0,
            TerrainType::Rough => (0.02 + 0.08 * d) * self.perlin(u, v) * ramp(out),
            TerrainType::RoughDiscrete if on_platform => 0.0,
            TerrainType::RoughDiscrete => {
                let h = (0.04 + 0.16 * d) * self.perlin(u, v);
                (h / 0.05).round() * 0.05
            }
            TerrainType::Slope => 0.4 * d * (self.ring_width() - out),
            TerrainType::StairsUp => self.stair(out),
            TerrainType::StairsDown => -self.stair(out),
            TerrainType::GridSteps if on_platform => 0.0,
            TerrainType::GridSteps => {
                let width = Self::cell_width(d);
                let side = (self.grid.tile_size / width).ceil() as usize + 1;
                let (i, j) = ((u / width) as usize, (v / width) as usize);
                self.cells[(i.min(side - 1)) * side + j.min(side - 1)]
            }
            TerrainType::Boxes if on_platform => 0.0,
            TerrainType::Boxes => self
                .boxes
                .iter()
                .filter(|b| b[0] <= u && u <= b[2] && b[1] <= v && v <= b[3])
                .map(|b| b[4])
                .fold(0.0, f64::max),
        }
    }

    /// Width of the ring between the platform and the tile's edge.
    fn ring_width(&self) -> f64 {
        (self.grid.tile_size - self.grid.platform) / 2.0
    }

    /// Height of the stairs that climb from the sunken platform (step 0) to the tile's edge
    /// (height 0) at distance `out` from the platform.
    fn stair(&self, out: f64) -> f64 {
        let riser = 0.05 + 0.17 * self.difficulty;
        let steps = (self.ring_width() / STAIR_TREAD).floor();
        let step = if out <= 0.0 {
            0.0
        } else {
            (out / STAIR_TREAD).floor() + 1.0
        };
        (riser * (step - steps - 1.0)).min(0.0)
    }

    /// Fractal noise in about [-1, 1].
    fn perlin(&self, u: f64, v: f64) -> f64 {
        self.noise.get([u, v]).clamp(-1.0, 1.0)
    }
}

/// 0 at the platform's edge, 1 from 0.5 m beyond it: noise fades in rather than making a ledge.
fn ramp(out: f64) -> f64 {
    (out / 0.5).min(1.0)
}

/// Where the compiled model keeps the heightfield, read from the model itself.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightfieldMap {
    /// Address of the data in `hfield_data`.
    pub address: usize,
    /// Samples along y.
    pub nrow: usize,
    /// Samples along x.
    pub ncol: usize,
    /// MuJoCo's `(x radius, y radius, elevation, base depth)`.
    pub size: [f64; 4],
    /// The geom's position (the field's centre; z is height 0 of the data).
    pub origin: [f64; 3],
}

impl HeightfieldMap {
    /// Ground height at world `(x, y)` from `data` (the model's `hfield_data`), on MuJoCo's
    /// triangles. Points outside the field take the nearest edge's height.
    pub fn height(&self, data: &[f32], x: f64, y: f64) -> f64 {
        let data = &data[self.address..self.address + self.nrow * self.ncol];
        let dx = 2.0 * self.size[0] / (self.ncol - 1) as f64;
        let dy = 2.0 * self.size[1] / (self.nrow - 1) as f64;
        let fx = ((x - self.origin[0] + self.size[0]) / dx).clamp(0.0, (self.ncol - 1) as f64);
        let fy = ((y - self.origin[1] + self.size[1]) / dy).clamp(0.0, (self.nrow - 1) as f64);
        let c = (fx.floor() as usize).min(self.ncol - 2);
        let r = (fy.floor() as usize).min(self.nrow - 2);
        let (tx, ty) = (fx - c as f64, fy - r as f64);
        let at = |r: usize, c: usize| data[r * self.ncol + c] as f64;
        let (h00, h11) = (at(r, c), at(r + 1, c + 1));
        let h = if tx >= ty {
            let h10 = at(r, c + 1);
            h00 + tx * (h10 - h00) + ty * (h11 - h10)
        } else {
            let h01 = at(r + 1, c);
            h00 + ty * (h01 - h00) + tx * (h11 - h01)
        };
        self.origin[2] + h * self.size[2]
    }
}
